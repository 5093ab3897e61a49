--TEST--
The README's example runs as pasted
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

$readme = file_get_contents(__DIR__ . '/../README.md');
preg_match('/```php\n(.*?)```/s', $readme, $m) or die("README.md has no php block\n");

// A directory laid out like the checkout: bindings/php/src next to example.php.
$dir = dirname(temp_container());
mkdir("$dir/bindings/php", 0777, true);
symlink(realpath(__DIR__ . '/../src'), "$dir/bindings/php/src");
file_put_contents("$dir/example.php", $m[1]);
$proc = proc_open(php_command('example.php'), [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, $dir);
$out = stream_get_contents($pipes[1]);
$err = stream_get_contents($pipes[2]);
$code = proc_close($proc);
echo $out, $err, "exit $code\n";
var_dump(is_file("$dir/hello.whefs"));

unlink("$dir/bindings/php/src");
rmdir("$dir/bindings/php");
rmdir("$dir/bindings");
unlink("$dir/example.php");
?>
--EXPECT--
hello, whefs
not found: missing.txt (WHEFS_ERR_NOT_FOUND)
8
. .. blob.bin hello.txt log.txt
exit 0
bool(true)
