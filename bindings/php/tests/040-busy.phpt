--TEST--
One writer per file: a second writer (same process or another) waits the busy timeout, then BusyException / fopen false with a warning
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\Fs;
use Whefs\StreamWrapper;

$container = temp_container();
StreamWrapper::register('b', $container, ['busy_timeout' => 0.3]);
StreamWrapper::fs('b')->write('other', 'free');

echo "-- same process, two streams\n";
$first = fopen('whefs://b/file', 'w');
fwrite($first, 'first writer');
$t = microtime(true);
var_dump(fopen('whefs://b/file', 'a'));
$waited = microtime(true) - $t;
var_dump($waited >= 0.25 && $waited < 5);
$reader = fopen('whefs://b/file', 'r');              // readers never wait
var_dump($reader !== false, flock($first, LOCK_EX));
$other = fopen('whefs://b/other', 'r+');             // other files are free
var_dump(fwrite($other, 'FREE'), fclose($other));
fclose($first);
$second = fopen('whefs://b/file', 'a');              // free again after fclose
var_dump(fwrite($second, ', second writer'), fclose($second));
var_dump(file_get_contents('whefs://b/file'));

echo "-- another process holds the file\n";
$worker = start_worker(__DIR__ . '/worker.inc', $container, 'hold', 'held', 'from the worker');
[$proc, $in, $out] = $worker;
echo fgets($out);                                    // ready
fwrite($in, "go\n");
echo fgets($out);                                    // holding
$fs = Fs::open($container, 'rw', ['busy_timeout' => 0.3]);
$t = microtime(true);
show_error(fn() => $fs->openFile('held', 'r+'));
var_dump(microtime(true) - $t >= 0.25);
var_dump(fopen('whefs://b/held', 'c'));
var_dump($fs->read('held'));                         // created at the worker's fopen, nothing committed yet
fwrite($in, "close\n");
echo fgets($out);                                    // closed
var_dump(finish_worker($worker));
$f = $fs->openFile('held', 'r+');                    // free now
var_dump($f->read());
$f->close();
$fs->check();
?>
--EXPECTF--
-- same process, two streams

Warning: whefs: fopen(whefs://b/file): busy: file "/file" (inode %d) is locked by another handle or process (waited %dms) (WHEFS_ERR_BUSY) in %s on line %d

Warning: fopen(whefs://b/file): Failed to open stream: "Whefs\StreamWrapper::stream_open" call failed in %s on line %d
bool(false)
bool(true)
bool(true)
bool(true)
int(4)
bool(true)
int(15)
bool(true)
string(27) "first writer, second writer"
-- another process holds the file
ready
holding
Whefs\BusyException 14 WHEFS_ERR_BUSY
bool(true)

Warning: whefs: fopen(whefs://b/held): busy: file "/held" (inode %d) is locked by another handle or process (waited %dms) (WHEFS_ERR_BUSY) in %s on line %d

Warning: fopen(whefs://b/held): Failed to open stream: "Whefs\StreamWrapper::stream_open" call failed in %s on line %d
bool(false)
string(0) ""
closed
int(0)
string(15) "from the worker"
