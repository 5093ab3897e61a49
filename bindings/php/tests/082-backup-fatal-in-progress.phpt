--TEST--
Fs::backup: a fatal error inside the progress callback (memory limit) ends the script cleanly after the library returned, not inside it
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--INI--
memory_limit=32M
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\Fs;

$dest = null;
// Registered before temp_container() registers the removal of its files.
register_shutdown_function(function () use (&$dest): void {
    // Runs after the bailout: the library had finished the backup.
    $copy = Fs::open($dest, 'r');
    $copy->check();
    echo "shutdown: copy has ", count($copy->listdir()), " files\n";
    $copy->close();
});
$src = temp_container('src.whefs');
$dest = temp_container('copy.whefs');
$fs = Fs::open($src);
for ($i = 0; $i < 20; $i++) {
    $fs->write("f$i", str_repeat(chr(65 + $i), 50000));
}
$fs->backup($dest, function (int $done, int $total): void {
    $hog = str_repeat('x', 64 * 1024 * 1024); // over memory_limit: a fatal error
});
echo "not reached\n";
?>
--EXPECTF--
Fatal error: Allowed memory size of %d bytes exhausted%s
shutdown: copy has 20 files
