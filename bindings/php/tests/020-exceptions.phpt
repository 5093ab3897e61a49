--TEST--
Object API: each failure is the Whefs\Exception subclass for its WHEFS_ERR_* code
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\Fs;

$path = temp_container();
$fs = Fs::open($path, 'rw', ['busy_timeout' => 0.1]);
$fs->mkdir('dir');
$fs->write('dir/file', 'x');
$fs->write('file', 'y');

show_error(fn() => $fs->read('missing'));
show_error(fn() => $fs->openFile('missing'));
show_error(fn() => $fs->mkdir('dir'));
show_error(fn() => $fs->openFile('file', 'x'));
show_error(fn() => $fs->mkdir('no/parent'));
show_error(fn() => $fs->unlink('dir'));
show_error(fn() => $fs->openFile('dir', 'r+'));
show_error(fn() => $fs->rmdir('dir'));
show_error(fn() => $fs->stat('file/below'));
show_error(fn() => $fs->openFile('file', 'q'));
show_error(fn() => $fs->stat(str_repeat('n', 300)));
show_error(fn() => $fs->openFile('file')->seek(-1));
show_error(fn() => Fs::open($path, 'rw', ['durability' => 'sometimes']));
show_error(fn() => Fs::open($path, 'rw', ['busy_timeot' => 1]));
show_error(fn() => Fs::open($path, 'w'));
show_error(fn() => Fs::open(temp_container('absent.whefs'), 'rw', ['create' => false]));
show_error(fn() => Fs::open(temp_container('absent.whefs'), 'r'));
file_put_contents(temp_container('not-a-container'), str_repeat('not whefs ', 1000));
show_error(fn() => Fs::open(temp_container('not-a-container'), 'r'));
show_error(fn() => Whefs\Native::call('whefs_test_panic'));

// all of them are Whefs\Exception, a \RuntimeException
try {
    $fs->read('missing');
} catch (RuntimeException $e) {
    var_dump($e instanceof Whefs\Exception, $e instanceof Whefs\NotFoundException, $e->getMessage());
}

// read-only container: writes are AccessException
$ro = Fs::open($path, 'r');
show_error(fn() => $ro->write('file', 'z'));
show_error(fn() => $ro->openFile('file', 'w'));
show_error(fn() => $ro->mkdir('new'));
var_dump($ro->read('file'));
$ro->close();

// closed handles
$f = $fs->openFile('file');
$f->close();
show_error(fn() => $f->read(1));
$fs->close();
show_error(fn() => $fs->read('file'));

// a second writer of one file: BusyException after the busy timeout
$fs = Fs::open($path, 'rw', ['busy_timeout' => 0.2]);
$w = $fs->openFile('file', 'r+');
$t = microtime(true);
show_error(fn() => $fs->openFile('file', 'a'));
$waited = microtime(true) - $t;
var_dump($waited > 0.15 && $waited < 3);
$fs->setBusyTimeout(0);
show_error(fn() => $fs->openFile('file', 'w'));
var_dump($fs->openFile('file', 'r')->read());     // readers are never blocked
$w->close();
$fs->openFile('file', 'w')->close();            // free again
// a damaged data page: CorruptException from check() and from reading it
$damaged = temp_container('damaged.whefs');
$fs = Fs::open($damaged);
$fs->write('a', str_repeat('A', 20000));
$fs->write('b', str_repeat('B', 20000));
// one more commit: damage to the latest commit's own pages is a torn
// commit, which open passes over for the one before (docs/format.md §7)
$fs->write('c', 'later');
$fs->close();
$bytes = file_get_contents($damaged);
$h = fopen($damaged, 'r+');
fseek($h, strpos($bytes, 'BBBB') + 100);
fwrite($h, 'XXXX');
fclose($h);
$fs = Fs::open($damaged);
show_error(fn() => $fs->check());
show_error(fn() => $fs->read('b'));
var_dump(strlen($fs->read('a')));
echo "done\n";
?>
--EXPECTF--
Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
Whefs\ExistsException 13 WHEFS_ERR_EXISTS
Whefs\ExistsException 13 WHEFS_ERR_EXISTS
Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
Whefs\IsDirectoryException 16 WHEFS_ERR_IS_DIR
Whefs\IsDirectoryException 16 WHEFS_ERR_IS_DIR
Whefs\NotEmptyException 17 WHEFS_ERR_NOT_EMPTY
Whefs\NotDirectoryException 15 WHEFS_ERR_NOT_DIR
Whefs\ArgumentException 1 WHEFS_ERR_ARG
Whefs\NameTooLongException 19 WHEFS_ERR_NAME_TOO_LONG
Whefs\RangeException 6 WHEFS_ERR_RANGE
Whefs\ArgumentException 1 WHEFS_ERR_ARG
Whefs\ArgumentException 1 WHEFS_ERR_ARG
Whefs\ArgumentException 1 WHEFS_ERR_ARG
Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
Whefs\BadMagicException 4 WHEFS_ERR_BAD_MAGIC
%AWhefs\InternalException 5 WHEFS_ERR_INTERNAL
bool(true)
bool(true)
string(18) "not found: missing"
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
string(1) "y"
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\BusyException 14 WHEFS_ERR_BUSY
bool(true)
Whefs\BusyException 14 WHEFS_ERR_BUSY
string(1) "y"
Whefs\CorruptException 9 WHEFS_ERR_CORRUPT
Whefs\CorruptException 9 WHEFS_ERR_CORRUPT
int(20000)
done
