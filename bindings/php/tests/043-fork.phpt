--TEST--
pcntl_fork: inherited handles are closed in the child without touching the parent's; a name registered by path reopens there
--SKIPIF--
<?php
require __DIR__ . '/skipif.inc';
if (!function_exists('pcntl_fork')) {
    die('skip pcntl is not available');
}
?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\Fs;
use Whefs\StreamWrapper;

$container = temp_container();
StreamWrapper::register('f', $container, ['busy_timeout' => 0.2]);
file_put_contents('whefs://f/parent', 'from the parent');
$fs = StreamWrapper::fs('f');
$held = fopen('whefs://f/held', 'w');               // the parent writes this file across the fork
fwrite($held, 'parent data');

$pid = pcntl_fork();
if ($pid === 0) {
    // the child: inherited handles are closed here...
    try {
        $fs->read('parent');
        echo "child: inherited Fs still works?!\n";
    } catch (Whefs\ClosedException) {
    }
    // ...and whefs://f/ opens the container anew for this process
    $ok = file_get_contents('whefs://f/parent') === 'from the parent'
        && file_put_contents('whefs://f/child', 'from the child') === 14
        && StreamWrapper::fs('f') !== $fs;
    exit($ok ? 0 : 1);                               // destructors close the inherited handles
}
pcntl_waitpid($pid, $status);
var_dump(pcntl_wexitstatus($status));
var_dump(file_get_contents('whefs://f/child'), $fs->read('parent'));

// the parent is still the writer of "held": the child's exit released nothing
putenv('WHEFS_WORKER_BUSY_TIMEOUT=0.2');
$other = start_worker(__DIR__ . '/worker.inc', $container, 'replace', 'held', 'intruder', 'child');
fgets($other[2]);
fwrite($other[1], "go\n");
var_dump(finish_worker($other));
var_dump(fwrite($held, ' and more'), fclose($held));
var_dump(file_get_contents('whefs://f/held'));
$fs->check();
?>
--EXPECTF--
int(0)
string(14) "from the child"
string(15) "from the parent"
warning: whefs: fopen(whefs://w/held): busy: file "/held" (inode %d) is locked by another handle or process (waited %dms) (WHEFS_ERR_BUSY)
warning: file_put_contents(whefs://w/held): Failed to open stream: "Whefs\StreamWrapper::stream_open" call failed
could not write held
int(1)
int(9)
bool(true)
string(20) "parent data and more"
