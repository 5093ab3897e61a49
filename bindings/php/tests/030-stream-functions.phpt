--TEST--
Stream wrapper: PHP's filesystem functions on whefs://name/path; failures are false plus a warning
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\StreamWrapper;

$container = temp_container();
StreamWrapper::register('data', $container, ['busy_timeout' => 0.2]);
var_dump(in_array('whefs', stream_get_wrappers(), true));

echo "-- whole files\n";
$bytes = "zero\0one\0\0two\xff" . str_repeat("\0", 9000) . 'end';
var_dump(file_put_contents('whefs://data/bin.dat', $bytes));
var_dump(file_get_contents('whefs://data/bin.dat') === $bytes);
var_dump(file_get_contents('whefs://data/bin.dat', false, null, 5, 3));
var_dump(file_put_contents('whefs://data/bin.dat', 'more', FILE_APPEND), filesize('whefs://data/bin.dat'));
var_dump(file_put_contents('whefs://data/list.txt', ["a\n", "b\n", "c\n"]), file('whefs://data/list.txt', FILE_IGNORE_NEW_LINES));
var_dump(copy('whefs://data/list.txt', 'whefs://data/copy.txt'), file_get_contents('whefs://data/copy.txt'));
$host = temp_container('host.txt');
var_dump(copy('whefs://data/list.txt', $host), file_get_contents($host));

echo "-- stat\n";
var_dump(file_exists('whefs://data/bin.dat'), is_file('whefs://data/bin.dat'), is_dir('whefs://data/bin.dat'));
var_dump(file_exists('whefs://data/none'), is_file('whefs://data/none'), is_dir('whefs://data/'), is_dir('whefs://data'));
$st = stat('whefs://data/bin.dat');
var_dump($st['size'], $st[7], decoct($st['mode']), $st['ino'] > 0, abs($st['mtime'] - time()) < 60);
var_dump(filetype('whefs://data/bin.dat'), filetype('whefs://data/'), is_readable('whefs://data/bin.dat'), is_writable('whefs://data/bin.dat'));
var_dump($st['uid'] === fileowner($container));
var_dump(filemtime('whefs://data/bin.dat') === $st['mtime']);
var_dump(stat('whefs://data/none'));

echo "-- directories\n";
var_dump(mkdir('whefs://data/a'), mkdir('whefs://data/x/y/z', 0755, true));
var_dump(mkdir('whefs://data/a'), mkdir('whefs://data/p/q'), mkdir('whefs://data/x/y/z', 0777, true));
file_put_contents('whefs://data/x/y/z/deep.txt', 'deep');
file_put_contents('whefs://data/x/y/f.txt', 'f');
var_dump(scandir('whefs://data/'), scandir('whefs://data/x/y'), scandir('whefs://data/x/y', SCANDIR_SORT_DESCENDING));
$d = opendir('whefs://data/x/y');
var_dump(readdir($d), readdir($d), readdir($d), readdir($d), readdir($d));  // "." and ".." first, as plain directories
rewinddir($d);
var_dump(readdir($d));
closedir($d);
foreach (new DirectoryIterator('whefs://data/x/y') as $entry) {
    echo $entry->getFilename(), ' ', $entry->isDir() ? 'dir' : 'file', "\n";
}
var_dump(scandir('whefs://data/none'));
var_dump(rmdir('whefs://data/x/y'), rmdir('whefs://data/a'), is_dir('whefs://data/a'));

echo "-- rename, unlink, touch\n";
var_dump(rename('whefs://data/copy.txt', 'whefs://data/x/moved.txt'), file_exists('whefs://data/copy.txt'), file_get_contents('whefs://data/x/moved.txt'));
var_dump(rename('whefs://data/none', 'whefs://data/other'));
var_dump(unlink('whefs://data/x/moved.txt'), file_exists('whefs://data/x/moved.txt'));
var_dump(unlink('whefs://data/x/moved.txt'));
var_dump(unlink('whefs://data/x'));
var_dump(touch('whefs://data/touched'), filesize('whefs://data/touched'), touch('whefs://data/touched'));
var_dump(chmod('whefs://data/touched', 0600));

echo "-- errors\n";
var_dump(file_get_contents('whefs://data/none'));
var_dump(file_put_contents('whefs://data/no/dir/file', 'x'));
var_dump(@file_get_contents('whefs://data/none'));
var_dump(file_get_contents('whefs://unregistered/file'));
var_dump(error_get_last() !== null);
StreamWrapper::fs('data')->check();
echo "done\n";
?>
--EXPECTF--
bool(true)
-- whole files
int(9017)
bool(true)
string(3) "one"
int(4)
int(9021)
int(6)
array(3) {
  [0]=>
  string(1) "a"
  [1]=>
  string(1) "b"
  [2]=>
  string(1) "c"
}
bool(true)
string(6) "a
b
c
"
bool(true)
string(6) "a
b
c
"
-- stat
bool(true)
bool(true)
bool(false)
bool(false)
bool(false)
bool(true)
bool(true)
int(9021)
int(9021)
string(6) "100644"
bool(true)
bool(true)
string(4) "file"
string(3) "dir"
bool(true)
bool(true)
bool(true)
bool(true)

Warning: whefs: stat(whefs://data/none): not found: /none (WHEFS_ERR_NOT_FOUND) in %s on line %d

Warning: stat(): stat failed for whefs://data/none in %s on line %d
bool(false)
-- directories
bool(true)
bool(true)

Warning: whefs: mkdir(whefs://data/a): already exists: /a (WHEFS_ERR_EXISTS) in %s on line %d

Warning: whefs: mkdir(whefs://data/p/q): not found: /p/q (WHEFS_ERR_NOT_FOUND) in %s on line %d

Warning: whefs: mkdir(whefs://data/x/y/z): already exists: /x/y/z (WHEFS_ERR_EXISTS) in %s on line %d
bool(false)
bool(false)
bool(false)
array(7) {
  [0]=>
  string(1) "."
  [1]=>
  string(2) ".."
  [2]=>
  string(1) "a"
  [3]=>
  string(7) "bin.dat"
  [4]=>
  string(8) "copy.txt"
  [5]=>
  string(8) "list.txt"
  [6]=>
  string(1) "x"
}
array(4) {
  [0]=>
  string(1) "."
  [1]=>
  string(2) ".."
  [2]=>
  string(5) "f.txt"
  [3]=>
  string(1) "z"
}
array(4) {
  [0]=>
  string(1) "z"
  [1]=>
  string(5) "f.txt"
  [2]=>
  string(2) ".."
  [3]=>
  string(1) "."
}
string(1) "."
string(2) ".."
string(5) "f.txt"
string(1) "z"
bool(false)
string(1) "."
. dir
.. dir
f.txt file
z dir

Warning: whefs: opendir(whefs://data/none): not found: /none (WHEFS_ERR_NOT_FOUND) in %s on line %d

Warning: scandir(whefs://data/none): Failed to open directory: "Whefs\StreamWrapper::dir_opendir" call failed in %s on line %d

Warning: scandir(): (errno 2): No such file or directory in %s on line %d
bool(false)

Warning: whefs: rmdir(whefs://data/x/y): directory not empty: /x/y (WHEFS_ERR_NOT_EMPTY) in %s on line %d
bool(false)
bool(true)
bool(false)
-- rename, unlink, touch
bool(true)
bool(false)
string(6) "a
b
c
"

Warning: whefs: rename(whefs://data/none): not found: /none (WHEFS_ERR_NOT_FOUND) in %s on line %d
bool(false)
bool(true)
bool(false)

Warning: whefs: unlink(whefs://data/x/moved.txt): not found: /x/moved.txt (WHEFS_ERR_NOT_FOUND) in %s on line %d
bool(false)

Warning: whefs: unlink(whefs://data/x): is a directory: /x (WHEFS_ERR_IS_DIR) in %s on line %d
bool(false)
bool(true)
int(0)
bool(true)

Warning: whefs: chmod(whefs://data/touched): only touch() is supported, not chmod/chown/chgrp (WHEFS_ERR_UNSUPPORTED) in %s on line %d
bool(false)
-- errors

Warning: whefs: fopen(whefs://data/none): not found: /none (WHEFS_ERR_NOT_FOUND) in %s on line %d

Warning: file_get_contents(whefs://data/none): Failed to open stream: "Whefs\StreamWrapper::stream_open" call failed in %s on line %d
bool(false)

Warning: whefs: fopen(whefs://data/no/dir/file): not found: /no/dir/file (WHEFS_ERR_NOT_FOUND) in %s on line %d

Warning: file_put_contents(whefs://data/no/dir/file): Failed to open stream: "Whefs\StreamWrapper::stream_open" call failed in %s on line %d
bool(false)
bool(false)

Warning: whefs: fopen(whefs://unregistered/file): whefs://unregistered is not registered (WHEFS_ERR_NOT_FOUND) in %s on line %d

Warning: file_get_contents(whefs://unregistered/file): Failed to open stream: "Whefs\StreamWrapper::stream_open" call failed in %s on line %d
bool(false)
bool(true)
done
