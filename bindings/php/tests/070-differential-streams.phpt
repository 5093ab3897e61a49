--TEST--
Differential: streams on whefs:// act as on plain files (fopen modes, short reads and feof/ftell, fseek past the end, ftruncate, fwrite/fread refusals)
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/differential.inc';

$scenarios = [];

/* Every mode, on an existing file and on a missing one. */
foreach (['r', 'rb', 'r+', 'w', 'w+', 'a', 'a+', 'c', 'c+', 'x', 'x+', 'wt', 'r+e'] as $mode) {
    foreach (['existing', 'missing'] as $case) {
        $scenarios["fopen $mode, $case"] = static function (Trace $t, string $base) use ($mode, $case): void {
            $path = "$base/f";
            if ($case === 'existing') {
                file_put_contents($path, '0123456789');
            }
            $f = $t->step('fopen', fn() => fopen($path, $mode));
            if ($f === false) {
                $t->step('after', fn() => content_of($path));
                return;
            }
            $t->step('ftell', fn() => ftell($f));
            $t->step('fread 4', fn() => fread($f, 4));
            $t->step('feof', fn() => feof($f));
            $t->step('ftell', fn() => ftell($f));
            $t->step('fwrite AB', fn() => fwrite($f, 'AB'));
            $t->step('ftell', fn() => ftell($f));
            $t->step('fseek 0', fn() => fseek($f, 0));
            $t->step('fread 100', fn() => fread($f, 100));
            $t->step('feof', fn() => feof($f));
            $t->step('fseek 2', fn() => fseek($f, 2));
            $t->step('fwrite xyz', fn() => fwrite($f, 'xyz'));
            $t->step('ftell', fn() => ftell($f));
            $t->step('fstat size', fn() => fstat($f)['size']);
            $t->step('fclose', fn() => fclose($f));
            $t->step('after', fn() => content_of($path));
        };
    }
}

$scenarios['short reads: feof and ftell'] = static function (Trace $t, string $base): void {
    file_put_contents("$base/s", '0123456789');
    $f = fopen("$base/s", 'r');
    foreach ([4, 4, 4, 4] as $i => $n) {
        $t->step("fread $n #$i", fn() => fread($f, $n));
        $t->step("feof #$i", fn() => feof($f));
        $t->step("ftell #$i", fn() => ftell($f));
    }
    $t->step('fseek 0 clears eof', fn() => [fseek($f, 0), feof($f)]);
    $t->step('fread exactly all', fn() => fread($f, 10));
    $t->step('feof after an exact read', fn() => feof($f), known: 'feof() is true once a read reached the end');
    $t->step('fread at the end', fn() => fread($f, 1));
    $t->step('feof', fn() => feof($f));
    $t->step('fgetc at the end', fn() => fgetc($f));
    $t->step('fgets at the end', fn() => fgets($f));
    $t->step('stream_get_contents at the end', fn() => stream_get_contents($f));
    $t->step('rewind', fn() => rewind($f));
    $t->step('fgets 4', fn() => fgets($f, 4));
    $t->step('fgetc', fn() => fgetc($f));
    $t->step('stream_get_contents from 2', fn() => stream_get_contents($f, -1, 2));
    $t->step('fclose', fn() => fclose($f));
};

$scenarios['empty file'] = static function (Trace $t, string $base): void {
    file_put_contents("$base/e", '');
    $f = fopen("$base/e", 'r');
    $t->step('feof before a read', fn() => feof($f));
    $t->step('fread', fn() => fread($f, 10));
    $t->step('feof', fn() => feof($f));
    $t->step('fgets', fn() => fgets($f));
    $t->step('ftell', fn() => ftell($f));
    fclose($f);
    $t->step('file_get_contents', fn() => file_get_contents("$base/e"));
    $t->step('file', fn() => file("$base/e"));
};

$scenarios['lines'] = static function (Trace $t, string $base): void {
    file_put_contents("$base/l", "one\ntwo\r\nthree");
    $f = fopen("$base/l", 'r');
    for ($i = 0; $i < 4; $i++) {
        $t->step("fgets #$i", fn() => fgets($f));
        $t->step("feof #$i", fn() => feof($f));
    }
    fclose($f);
    $t->step('file', fn() => file("$base/l"));
    $t->step('file ignore new lines', fn() => file("$base/l", FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES));
};

$scenarios['the feof() loop over lines ending in a newline'] = static function (Trace $t, string $base): void {
    file_put_contents("$base/l", "a\nb\n");
    $f = fopen("$base/l", 'r');
    $t->step('loop', function () use ($f) {
        $seen = [];
        while (!feof($f)) {
            $seen[] = fgets($f);
        }
        return $seen;
    }, known: 'feof() is true once a read reached the end');
    fclose($f);
};

$scenarios['fseek past the end and before the start'] = static function (Trace $t, string $base): void {
    file_put_contents("$base/p", 'abcdefghij');
    $f = fopen("$base/p", 'r+');
    $t->step('fseek 20', fn() => fseek($f, 20));
    $t->step('ftell', fn() => ftell($f));
    $t->step('fread past the end', fn() => fread($f, 5));
    $t->step('feof', fn() => feof($f));
    $t->step('fwrite X', fn() => fwrite($f, 'X'));
    $t->step('ftell', fn() => ftell($f));
    $t->step('fstat size', fn() => fstat($f)['size']);
    $t->step('fseek -1', fn() => fseek($f, -1));
    $t->step('ftell after a failed seek', fn() => ftell($f));
    $t->step('fseek -100 SEEK_CUR', fn() => fseek($f, -100, SEEK_CUR));
    $t->step('fseek -100 SEEK_END', fn() => fseek($f, -100, SEEK_END));
    $t->step('ftell', fn() => ftell($f));
    $t->step('fseek -2 SEEK_END', fn() => fseek($f, -2, SEEK_END));
    $t->step('fread', fn() => fread($f, 10));
    $t->step('fseek 3 SEEK_END', fn() => fseek($f, 3, SEEK_END));
    $t->step('ftell', fn() => ftell($f));
    $t->step('fseek 1 SEEK_CUR', fn() => fseek($f, 1, SEEK_CUR));
    $t->step('ftell', fn() => ftell($f));
    $t->step('fseek bad whence', fn() => fseek($f, 0, 99));
    $t->step('rewind', fn() => rewind($f));
    $t->step('contents', fn() => stream_get_contents($f));
    fclose($f);
};

$scenarios['ftruncate'] = static function (Trace $t, string $base): void {
    $f = fopen("$base/t", 'w+');
    $t->step('fwrite', fn() => fwrite($f, '0123456789'));
    $t->step('ftruncate 4', fn() => ftruncate($f, 4));
    $t->step('ftell stays', fn() => ftell($f));
    $t->step('fstat size', fn() => fstat($f)['size']);
    $t->step('fwrite at 10', fn() => fwrite($f, 'Z'));
    $t->step('ftruncate 20 (grows)', fn() => ftruncate($f, 20));
    $t->step('rewind', fn() => rewind($f));
    $t->step('contents', fn() => stream_get_contents($f));
    $t->step('ftruncate 0', fn() => ftruncate($f, 0));
    $t->step('feof', fn() => feof($f));
    $t->step('fread', fn() => fread($f, 5));
    $t->step('ftruncate -1', fn() => ftruncate($f, -1));
    fclose($f);
    $t->step('after', fn() => content_of("$base/t"));
    file_put_contents("$base/ro", 'read only');
    $r = fopen("$base/ro", 'r');
    $t->step('ftruncate a read-only stream', fn() => ftruncate($r, 2));
    fclose($r);
    $t->step('after', fn() => content_of("$base/ro"));
    $a = fopen("$base/ro", 'a');
    $t->step('ftruncate an append stream', fn() => ftruncate($a, 4));
    fclose($a);
    $t->step('after', fn() => content_of("$base/ro"));
};

$scenarios['refused reads and writes'] = static function (Trace $t, string $base): void {
    file_put_contents("$base/r", 'data');
    $r = fopen("$base/r", 'r');
    $t->step('fwrite on r', fn() => fwrite($r, 'no'));
    $t->step('fputs on r', fn() => fputs($r, 'no'));
    $t->step('fflush on r', fn() => fflush($r));
    $t->step('fread on r', fn() => fread($r, 10));
    fclose($r);
    $w = fopen("$base/w", 'w');
    $t->step('fread on w', fn() => fread($w, 10));
    $t->step('fgets on w', fn() => fgets($w));
    $t->step('fwrite on w', fn() => fwrite($w, 'yes'));
    $t->step('fflush on w', fn() => fflush($w));
    $t->step('fwrite empty', fn() => fwrite($w, ''));
    $t->step('fclose', fn() => fclose($w));
    $t->step('fclose twice', fn() => fclose($w));
    $t->step('fread after fclose', fn() => fread($w, 1));
    $t->step('after', fn() => content_of("$base/w"));
    $t->step('fread 0', fn() => fread(fopen("$base/r", 'r'), 0));
};

$scenarios['append'] = static function (Trace $t, string $base): void {
    file_put_contents("$base/a", 'start');
    $f = fopen("$base/a", 'a+');
    $t->step('ftell', fn() => ftell($f));
    $t->step('fseek 0', fn() => fseek($f, 0));
    $t->step('fread 2', fn() => fread($f, 2));
    $t->step('fwrite goes to the end', fn() => fwrite($f, '+end'));
    $t->step('ftell', fn() => ftell($f));
    $t->step('fseek 0 and read', fn() => [fseek($f, 0), fread($f, 100)]);
    fclose($f);
    $t->step('file_put_contents FILE_APPEND', fn() => file_put_contents("$base/a", '!', FILE_APPEND));
    $t->step('after', fn() => content_of("$base/a"));
};

$scenarios['file_get_contents and file_put_contents'] = static function (Trace $t, string $base): void {
    $t->step('put', fn() => file_put_contents("$base/g", "bin\0ary"));
    $t->step('put an array', fn() => file_put_contents("$base/g2", ['a', 'b', "c\n"]));
    $t->step('put a stream', fn() => file_put_contents("$base/g3", fopen("$base/g", 'r')));
    $t->step('get', fn() => file_get_contents("$base/g"));
    $t->step('get offset 2', fn() => file_get_contents("$base/g", false, null, 2));
    $t->step('get offset 2 length 3', fn() => file_get_contents("$base/g", false, null, 2, 3));
    $t->step('get offset past the end', fn() => file_get_contents("$base/g", false, null, 50));
    $t->step('get negative offset', fn() => file_get_contents("$base/g", false, null, -3));
    $t->step('get a missing file', fn() => file_get_contents("$base/none"));
    $t->step('get a directory', fn() => file_get_contents("$base"), known: 'a directory cannot be opened as a file');
    $t->step('put into a missing directory', fn() => file_put_contents("$base/no/such", 'x'));
    $t->step('put onto a directory', fn() => file_put_contents($base, 'x'));
    $t->step('g2', fn() => content_of("$base/g2"));
    $t->step('g3', fn() => content_of("$base/g3"));
    $t->step('readfile', function () use ($base) {
        ob_start();
        $n = readfile("$base/g");
        return [$n, ob_get_clean()];
    });
    $t->step('fpassthru', function () use ($base) {
        $f = fopen("$base/g", 'r');
        fseek($f, 3);
        ob_start();
        $n = fpassthru($f);
        fclose($f);
        return [$n, ob_get_clean()];
    });
    $t->step('md5_file', fn() => md5_file("$base/g"));
    $t->step('hash_file sha1', fn() => hash_file('sha1', "$base/g"));
};

$scenarios['fopen edge cases'] = static function (Trace $t, string $base): void {
    mkdir("$base/d");
    $t->step('fopen a directory for writing', fn() => fopen("$base/d", 'w'));
    $t->step('fopen a directory for reading', fn() => fopen("$base/d", 'r'), known: 'a directory cannot be opened as a file');
    $t->step('fopen in a missing directory', fn() => fopen("$base/none/f", 'w'));
    $t->step('fopen a missing file', fn() => fopen("$base/none", 'r'));
    $t->step('fopen a bad mode', fn() => fopen("$base/f", 'q'));
    file_put_contents("$base/f", 'x');
    $t->step('fopen a file as a directory', fn() => fopen("$base/f/g", 'w'));
    $t->step('x on an existing file', fn() => fopen("$base/f", 'x'));
    $t->step('after', fn() => content_of("$base/f"));
};

run_differential($scenarios);
--EXPECT--
fopen r, existing: same (16 steps)
fopen r, missing: same (2 steps)
fopen rb, existing: same (16 steps)
fopen rb, missing: same (2 steps)
fopen r+, existing: same (16 steps)
fopen r+, missing: same (2 steps)
fopen w, existing: same (16 steps)
fopen w, missing: same (16 steps)
fopen w+, existing: same (16 steps)
fopen w+, missing: same (16 steps)
fopen a, existing: same (16 steps)
fopen a, missing: same (16 steps)
fopen a+, existing: same (16 steps)
fopen a+, missing: same (16 steps)
fopen c, existing: same (16 steps)
fopen c, missing: same (16 steps)
fopen c+, existing: same (16 steps)
fopen c+, missing: same (16 steps)
fopen x, existing: same (2 steps)
fopen x, missing: same (16 steps)
fopen x+, existing: same (2 steps)
fopen x+, missing: same (16 steps)
fopen wt, existing: same (16 steps)
fopen wt, missing: same (16 steps)
fopen r+e, existing: same (16 steps)
fopen r+e, missing: same (2 steps)
short reads: feof and ftell: same (25 steps)
  known difference: feof after an exact read (feof() is true once a read reached the end)
empty file: same (7 steps)
lines: same (10 steps)
the feof() loop over lines ending in a newline: same (1 steps)
  known difference: loop (feof() is true once a read reached the end)
fseek past the end and before the start: same (21 steps)
ftruncate: same (17 steps)
refused reads and writes: same (14 steps)
append: same (8 steps)
file_get_contents and file_put_contents: same (18 steps)
  known difference: get a directory (a directory cannot be opened as a file)
fopen edge cases: same (8 steps)
  known difference: fopen a directory for reading (a directory cannot be opened as a file)
36 of 36 scenarios act the same, but for 4 known differences
