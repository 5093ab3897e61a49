--TEST--
Low level: the SWIG functions keep the C names; errors are \Exception with the WHEFS_ERR_* code; bytes with NUL round-trip
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

var_dump(whefs_version() === WHEFS_VERSION_STRING);
var_dump(whefs_rc_name(WHEFS_ERR_BUSY));

$path = temp_container();
$fs = whefs_fs_open_ex($path, WHEFS_OPEN_READWRITE | WHEFS_OPEN_CREATE, 1000, 0, 'low');
echo get_class($fs), "\n";
var_dump(whefs_fs_label_get($fs));

$data = "a\0b\0\0c" . str_repeat("\xff\x00", 5000);
var_dump(whefs_write_file($fs, 'bin', $data));
var_dump(whefs_read_file($fs, 'bin') === $data);
try {
    whefs_read_file($fs, 'missing');
} catch (Exception $e) {
    printf("%s %d %s\n", get_class($e), $e->getCode(), $e->getMessage());
}
try {
    whefs_stat($fs, "bad\0path");
} catch (ValueError $e) {
    echo $e->getMessage(), "\n";
}
try {
    whefs_write_file($fs, 'x', 42);
} catch (TypeError $e) {
    echo $e->getMessage(), "\n";
}
try {
    whefs_stat($fs, 42);
} catch (TypeError $e) {
    echo $e->getMessage(), "\n";
}

$f = whefs_file_open($fs, 'f', 'w+');
var_dump(whefs_file_write($f, "one\0two"));
var_dump(whefs_file_seek($f, 1, SEEK_SET));
var_dump(whefs_file_read_bytes($f, 100) === "ne\0two");
var_dump(whefs_file_tell($f), whefs_file_size($f));
var_dump(whefs_file_pread_bytes($f, 3, 4), whefs_file_tell($f));
var_dump(whefs_file_read_bytes($f, 1 << 40)); // at the end: "", nothing huge allocated
var_dump(whefs_file_close($f));

var_dump(whefs_exists($fs, 'f'), whefs_exists($fs, 'g'));
$st = whefs_stat($fs, 'f');
var_dump($st['kind'] === WHEFS_KIND_FILE, $st['size']);
whefs_mkdir_all($fs, 'd/e');
$d = whefs_dir_open($fs, '/');
while (($entry = whefs_dir_next($d)) !== null) {
    echo $entry['name'], ' ', $entry['kind'], "\n";
}
whefs_dir_close($d);
echo implode(' ', array_column(whefs_ls($fs, '**'), 'path')), "\n";
$info = whefs_fs_info($fs);
var_dump($info['files'], $info['dirs']);
var_dump(whefs_fs_check($fs));
var_dump(whefs_fs_close($fs));
?>
--EXPECT--
bool(true)
string(14) "WHEFS_ERR_BUSY"
SWIG\_p_whefs_fs
string(3) "low"
NULL
bool(true)
Exception 12 not found: missing
whefs_stat(): Argument #2 ($arg2) must not contain any null bytes
whefs_write_file(): Argument #3 ($arg3) must be of type string, int given
whefs_stat(): Argument #2 ($arg2) must be of type string, int given
int(7)
int(1)
bool(true)
int(7)
int(7)
string(3) "two"
int(7)
string(0) ""
NULL
bool(true)
bool(false)
bool(true)
int(7)
bin 1
d 2
f 1
bin d d/e f
int(2)
int(3)
NULL
NULL
