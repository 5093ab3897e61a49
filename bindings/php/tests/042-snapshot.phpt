--TEST--
A reader keeps its snapshot while another process replaces and removes files; new opens see the new commit
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\Fs;
use Whefs\StreamWrapper;

$container = temp_container();
StreamWrapper::register('s', $container);
$v1 = str_repeat("version one\0", 5000);
file_put_contents('whefs://s/doc', $v1);
file_put_contents('whefs://s/doomed', 'read me after my removal');

$stream = fopen('whefs://s/doc', 'r');
$head = fread($stream, 12);
$fs = StreamWrapper::fs('s');
$file = $fs->openFile('doomed');

// another process replaces doc and removes doomed
$worker = start_worker(__DIR__ . '/worker.inc', $container, 'replace', 'doc', 'version two', 'doomed');
fgets($worker[2]);
fwrite($worker[1], "go\n");
var_dump(finish_worker($worker));

var_dump(file_get_contents('whefs://s/doc'), file_exists('whefs://s/doomed'));
$rest = stream_get_contents($stream);
var_dump($head . $rest === $v1, fstat($stream)['size']);
fclose($stream);
var_dump($file->read(), $file->stat()->size);
$file->close();

// the same within one process, through the object API
$old = $fs->openFile('doc');
$fs->write('doc', 'version three');
$fs->rename('doc', 'renamed');
var_dump($old->read(), $fs->read('renamed'), $fs->exists('doc'));
$old->close();
$fs->check();
?>
--EXPECT--
int(0)
string(11) "version two"
bool(false)
bool(true)
int(60000)
string(24) "read me after my removal"
int(24)
string(11) "version two"
string(13) "version three"
bool(false)
