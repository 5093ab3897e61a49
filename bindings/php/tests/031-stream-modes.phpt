--TEST--
Stream wrapper: fopen modes, fread/fwrite/fseek/ftell/feof, fflush commits, ftruncate, fstat, flock
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\StreamWrapper;

StreamWrapper::register('m', temp_container());

/* Each mode on an existing file ("0123456789") and on a missing one: the
 * position after fopen, what a read of 4 bytes and a write of "AB" do,
 * and the content after fclose. */
foreach (['r', 'rb', 'r+', 'w', 'w+', 'a', 'a+', 'c', 'c+', 'x', 'x+', 'wt', 'r+e'] as $mode) {
    foreach (['existing', 'missing'] as $case) {
        $url = "whefs://m/$case";
        @unlink($url);
        if ($case === 'existing') {
            file_put_contents($url, '0123456789');
        }
        $f = @fopen($url, $mode);
        if ($f === false) {
            printf("%-4s %-8s fopen false\n", $mode, $case);
            continue;
        }
        $pos = ftell($f);
        $read = @fread($f, 4);
        $wrote = @fwrite($f, 'AB');
        fclose($f);
        $after = file_exists($url) ? file_get_contents($url) : '(none)';
        printf("%-4s %-8s pos %d read %s write %s -> %s\n", $mode, $case, $pos, var_export($read, true), var_export($wrote, true), $after);
    }
}

echo "-- x on an existing file warns\n";
var_dump(fopen('whefs://m/existing', 'x'));

echo "-- seek, tell, eof\n";
file_put_contents('whefs://m/s', 'abcdefghij');
$f = fopen('whefs://m/s', 'r+');
var_dump(fseek($f, 3), ftell($f), fread($f, 2), ftell($f));
var_dump(fseek($f, -2, SEEK_END), fread($f, 10), feof($f));
var_dump(fseek($f, 2, SEEK_CUR), ftell($f), feof($f));
var_dump(fseek($f, -100, SEEK_CUR), ftell($f));
var_dump(fwrite($f, 'XY'), ftell($f));
var_dump(fstat($f)['size']);
var_dump(rewind($f), str_replace("\0", '.', stream_get_contents($f)));  // the hole reads as zeros
fclose($f);
$lines = [];
$f = fopen('whefs://m/s', 'r');
while (!feof($f)) {
    $lines[] = fgets($f, 4);
}
fclose($f);
var_dump(str_replace("\0", '.', implode('|', $lines)));

echo "-- fflush commits; readers see commits only\n";
$w = fopen('whefs://m/live', 'w');
fwrite($w, 'first');
var_dump(file_get_contents('whefs://m/live'));   // created empty at fopen, not yet written
var_dump(fflush($w), file_get_contents('whefs://m/live'), filesize('whefs://m/live'));
fwrite($w, ' second');
var_dump(file_get_contents('whefs://m/live'));
var_dump(ftruncate($w, 3), fstat($w)['size']);
fclose($w);
var_dump(file_get_contents('whefs://m/live'), filesize('whefs://m/live'));

echo "-- flock\n";
$f = fopen('whefs://m/live', 'c+');
var_dump(flock($f, LOCK_SH), flock($f, LOCK_EX), flock($f, LOCK_EX | LOCK_NB), flock($f, LOCK_UN));
fclose($f);

echo "-- big writes and reads in chunks\n";
$big = random_bytes(300000);
$f = fopen('whefs://m/big', 'w');
foreach (str_split($big, 7777) as $chunk) {
    fwrite($f, $chunk);
}
fclose($f);
$f = fopen('whefs://m/big', 'r');
$back = '';
while (($chunk = fread($f, 5000)) !== '') {
    $back .= $chunk;
}
var_dump(feof($f), $back === $big, strlen(stream_get_contents($f)));
fclose($f);
var_dump(md5_file('whefs://m/big') === md5($big), hash_file('sha256', 'whefs://m/big') === hash('sha256', $big));
StreamWrapper::fs('m')->check();
echo "done\n";
?>
--EXPECTF--
r    existing pos 0 read '0123' write false -> 0123456789
r    missing  fopen false
rb   existing pos 0 read '0123' write false -> 0123456789
rb   missing  fopen false
r+   existing pos 0 read '0123' write 2 -> 0123AB6789
r+   missing  fopen false
w    existing pos 0 read false write 2 -> AB
w    missing  pos 0 read false write 2 -> AB
w+   existing pos 0 read '' write 2 -> AB
w+   missing  pos 0 read '' write 2 -> AB
a    existing pos 0 read false write 2 -> 0123456789AB
a    missing  pos 0 read false write 2 -> AB
a+   existing pos 0 read '0123' write 2 -> 0123456789AB
a+   missing  pos 0 read '' write 2 -> AB
c    existing pos 0 read false write 2 -> AB23456789
c    missing  pos 0 read false write 2 -> AB
c+   existing pos 0 read '0123' write 2 -> 0123AB6789
c+   missing  pos 0 read '' write 2 -> AB
x    existing fopen false
x    missing  pos 0 read false write 2 -> AB
x+   existing fopen false
x+   missing  pos 0 read '' write 2 -> AB
wt   existing pos 0 read false write 2 -> AB
wt   missing  pos 0 read false write 2 -> AB
r+e  existing pos 0 read '0123' write 2 -> 0123AB6789
r+e  missing  fopen false
-- x on an existing file warns

Warning: whefs: fopen(whefs://m/existing): already exists: /existing (WHEFS_ERR_EXISTS) in %s on line %d

Warning: fopen(whefs://m/existing): Failed to open stream: "Whefs\StreamWrapper::stream_open" call failed in %s on line %d
bool(false)
-- seek, tell, eof
int(0)
int(3)
string(2) "de"
int(5)
int(0)
string(2) "ij"
bool(true)
int(0)
int(12)
bool(false)
int(-1)
int(12)
int(2)
int(14)
int(14)
bool(true)
string(14) "abcdefghij..XY"
string(18) "abc|def|ghi|j..|XY"
-- fflush commits; readers see commits only
string(0) ""
bool(true)
string(5) "first"
int(5)
string(5) "first"
bool(true)
int(3)
string(3) "fir"
int(3)
-- flock
bool(true)
bool(true)
bool(true)
bool(true)
-- big writes and reads in chunks
bool(true)
bool(true)
int(0)
bool(true)
bool(true)
done
