--TEST--
Object API: Fs and File round trips (NUL bytes), namespace calls, glob, info, check, image
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\Fs;

$path = temp_container();
$fs = Fs::open($path, 'rw', ['busy_timeout' => 1, 'label' => 'round trip', 'durability' => 'normal']);
var_dump($fs->label(), $fs->readonly, $fs->path === $path);

// whole files, binary
$blob = '';
for ($i = 0; $i < 70000; $i++) {
    $blob .= chr($i % 256);
}
var_dump($fs->write('blob.bin', $blob), $fs->read('blob.bin') === $blob);
var_dump($fs->write('empty', ''), $fs->read('empty'));

// a File
$f = $fs->openFile('notes.txt', 'w+');
var_dump($f->write("line one\n"), $f->write("nul\0inside\n"));
var_dump($f->tell(), $f->size());
var_dump($f->seek(0), $f->read(4), $f->tell(), $f->eof());
var_dump($f->read() === " one\nnul\0inside\n", $f->eof());
var_dump($f->read(10), $f->eof());
var_dump($f->seek(-7, SEEK_END), $f->read(3), $f->eof());
var_dump($f->pread(3, 5), $f->tell());
var_dump($f->pwrite('ONE', 5), $f->tell());
$f->truncate(8);
var_dump($f->size(), $f->stat()->size, $f->stat()->isFile());
var_dump($fs->stat('notes.txt')->size);        // others see the last commit: created empty at open
$f->flush();                                   // commits: visible to others now
var_dump($fs->read('notes.txt'));
$f->write('!');                                // position 16, past the end: a hole of zeros
var_dump($f->seek(0, SEEK_END));
$f->close();
$f->close();                                   // twice is fine
var_dump(bin2hex($fs->read('notes.txt')));

// append and create modes
$a = $fs->openFile('log', 'a');
var_dump($a->tell());
$a->write("first\n");
$a->close();
$a = $fs->openFile('log', 'ab');
var_dump($a->tell());
$a->seek(0);
$a->write("second\n");                         // "a" writes at the end wherever the position is
$a->close();
var_dump($fs->read('log'));
$c = $fs->openFile('log', 'c+');
var_dump($c->read());
$c->close();

// namespace
$fs->mkdir('a');
$fs->mkdir('x/y/z', true);
$fs->mkdir('x/y/z', true);                     // recursive: an existing directory is fine
$fs->write('x/y/z/file', 'deep');
$fs->write('a/1.txt', '1');
$fs->write('a/2.txt', '2');
$fs->write('a/3.log', '3');
var_dump($fs->listdir());
var_dump($fs->listdir('a'));
var_dump($fs->glob('a/*.txt'), $fs->glob('**/file'));
var_dump($fs->isDir('x/y'), $fs->isFile('x/y'), $fs->isFile('x/y/z/file'), $fs->isDir('nope'), $fs->isFile('notes.txt/below'));
$st = $fs->stat('x');
var_dump($st->isDir(), decoct($st->mode & 0170000), $st->size);
var_dump(abs($fs->stat('a/1.txt')->mtime() - time()) < 60);
$fs->rename('a/3.log', 'x/3.log');
$fs->rename('a/1.txt', 'a/2.txt');             // replaces a file
var_dump($fs->listdir('a'), $fs->read('a/2.txt'));
$fs->unlink('a/2.txt');
$fs->rmdir('a');
var_dump($fs->exists('a'));
var_dump(array_column($fs->entries('x'), 'kind', 'name'));

$info = $fs->info();
var_dump($info->pageSize, $info->files, $info->dirs, $info->generation > 10);
$fs->check();
$fs->close();
$fs->close();

// read-only, and an image of the container file
$ro = Fs::open($path, 'r');
var_dump($ro->readonly, $ro->read('x/y/z/file'));
$ro->close();
$image = Fs::openImage(file_get_contents($path));
var_dump($image->read('blob.bin') === $blob, $image->listdir('x'));
$image->close();

// a File keeps its Fs: closing the Fs closes (and commits) the File first
$fs = Fs::open($path);
$open = [];
foreach (['late1', 'late2', 'late3'] as $name) {
    $open[$name] = $fs->openFile($name, 'w');
    $open[$name]->write("$name committed by Fs::close");
}
$fs->close();
var_dump(array_map(fn($f) => $f->isClosed(), $open));
$fs = Fs::open($path);
var_dump($fs->read('late1'), $fs->read('late3'));
echo "done\n";
?>
--EXPECT--
string(10) "round trip"
bool(false)
bool(true)
int(70000)
bool(true)
int(0)
string(0) ""
int(9)
int(11)
int(20)
int(20)
int(0)
string(4) "line"
int(4)
bool(false)
bool(true)
bool(true)
string(0) ""
bool(true)
int(13)
string(3) "ins"
bool(false)
string(3) "one"
int(16)
int(3)
int(16)
int(8)
int(8)
bool(true)
int(0)
string(8) "line ONE"
int(17)
string(34) "6c696e65204f4e45000000000000000021"
int(0)
int(6)
string(13) "first
second
"
string(13) "first
second
"
array(6) {
  [0]=>
  string(1) "a"
  [1]=>
  string(8) "blob.bin"
  [2]=>
  string(5) "empty"
  [3]=>
  string(3) "log"
  [4]=>
  string(9) "notes.txt"
  [5]=>
  string(1) "x"
}
array(3) {
  [0]=>
  string(5) "1.txt"
  [1]=>
  string(5) "2.txt"
  [2]=>
  string(5) "3.log"
}
array(2) {
  [0]=>
  string(7) "a/1.txt"
  [1]=>
  string(7) "a/2.txt"
}
array(1) {
  [0]=>
  string(10) "x/y/z/file"
}
bool(true)
bool(false)
bool(true)
bool(false)
bool(false)
bool(true)
string(5) "40000"
int(0)
bool(true)
array(1) {
  [0]=>
  string(5) "2.txt"
}
string(1) "1"
bool(false)
array(2) {
  ["3.log"]=>
  int(1)
  ["y"]=>
  int(2)
}
int(4096)
int(6)
int(4)
bool(true)
bool(true)
string(4) "deep"
bool(true)
array(2) {
  [0]=>
  string(5) "3.log"
  [1]=>
  string(1) "y"
}
array(3) {
  ["late1"]=>
  bool(true)
  ["late2"]=>
  bool(true)
  ["late3"]=>
  bool(true)
}
string(28) "late1 committed by Fs::close"
string(28) "late3 committed by Fs::close"
done
