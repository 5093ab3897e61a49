--TEST--
Fs::backup: a fatal error inside the progress callback ends the script cleanly after the library returned, not inside it
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
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
    // A fatal error bails out (longjmp), as the memory limit or the time
    // limit would; it must not unwind through the library's frames.
    trigger_error("fatal in progress at $done of $total", E_USER_ERROR);
});
echo "not reached\n";
?>
--EXPECTF--
Fatal error: fatal in progress at %d of %d in %s on line %d
shutdown: copy has 20 files
