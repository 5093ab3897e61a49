--TEST--
POSIX metadata: chmod, chown, touch (ns), symlink/readlink/lstat, hard links and link counts
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\Fs;

$fs = Fs::open(temp_container(), 'rw');
$fs->write('f', 'data');
$fs->chmod('f', 0o600);
$fs->chown('f', 1000, null);
$fs->chown('f', null, 50);
$fs->touch('f', 1_700_000_000_123_456_789, 1_000_000_001);
$st = $fs->stat('f');
printf("%o %d %d %d %d %d\n", $st->mode & 0o7777, $st->uid, $st->gid, $st->nlink, $st->mtimeNs, $st->atimeNs);

$fs->symlink('f', 'l');
var_dump($fs->read('l'), $fs->readlink('l'), $fs->lstat('l')->isLink(), $fs->stat('l')->isFile());
show_error(fn() => $fs->readlink('f'));

$fs->link('f', 'g');
var_dump($fs->stat('g')->nlink, $fs->stat('g')->ino === $fs->stat('f')->ino);
$fs->unlink('f');
var_dump($fs->stat('g')->nlink, $fs->read('g'));
$fs->mkdir('d');
show_error(fn() => $fs->link('d', 'd2'));
var_dump($fs->stat('/')->nlink);
$fs->check();
echo "done\n";
?>
--EXPECT--
600 1000 50 1 1700000000123456789 1000000001
string(4) "data"
string(1) "f"
bool(true)
bool(true)
Whefs\ArgumentException 1 WHEFS_ERR_ARG
int(2)
bool(true)
int(1)
string(4) "data"
Whefs\IsDirectoryException 16 WHEFS_ERR_IS_DIR
int(3)
done
