--TEST--
Differential: path functions on whefs:// act as on plain files (unlink, rename, mkdir, rmdir, scandir/readdir, stat family, touch, copy)
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/differential.inc';

$scenarios = [];

$scenarios['unlink'] = static function (Trace $t, string $base): void {
    file_put_contents("$base/f", 'x');
    mkdir("$base/d");
    $t->step('unlink a file', fn() => unlink("$base/f"));
    $t->step('gone', fn() => file_exists("$base/f"));
    $t->step('unlink it again', fn() => unlink("$base/f"));
    $t->step('unlink a directory', fn() => unlink("$base/d"));
    $t->step('unlink in a missing directory', fn() => unlink("$base/none/f"));
    $t->step('unlink through a file', fn() => unlink("$base/d/../f/x"));
    $t->step('unlink while open for reading', function () use ($base) {
        file_put_contents("$base/open", 'still here');
        $f = fopen("$base/open", 'r');
        $gone = unlink("$base/open");
        $read = fread($f, 100);
        fclose($f);
        return [$gone, file_exists("$base/open"), $read];
    });
};

$scenarios['rename'] = static function (Trace $t, string $base): void {
    file_put_contents("$base/a", 'A');
    file_put_contents("$base/b", 'B');
    mkdir("$base/d");
    mkdir("$base/e");
    file_put_contents("$base/e/inside", 'i');
    $t->step('a file over a file', fn() => rename("$base/a", "$base/b"));
    $t->step('contents', fn() => [content_of("$base/a"), content_of("$base/b")]);
    $t->step('a missing file', fn() => rename("$base/a", "$base/c"));
    $t->step('to itself', fn() => rename("$base/b", "$base/b"));
    $t->step('into a directory path', fn() => rename("$base/b", "$base/d/b"));
    $t->step('moved', fn() => content_of("$base/d/b"));
    $t->step('into a missing directory', fn() => rename("$base/d/b", "$base/none/b"));
    $t->step('a file over a directory', fn() => rename("$base/d/b", "$base/e"));
    $t->step('a directory over a file', fn() => rename("$base/e", "$base/d/b"));
    $t->step('a directory over a non-empty directory', fn() => rename("$base/d", "$base/e"));
    $t->step('a directory into itself', fn() => rename("$base/e", "$base/e/sub"));
    $t->step('a directory to a new name', fn() => rename("$base/e", "$base/f"));
    $t->step('it moved with its files', fn() => content_of("$base/f/inside"));
    mkdir("$base/empty");
    $t->step('a directory over an empty directory', fn() => rename("$base/f", "$base/empty"));
    $t->step('after', fn() => [is_dir("$base/f"), content_of("$base/empty/inside")]);
};

$scenarios['mkdir'] = static function (Trace $t, string $base): void {
    $t->step('a new directory', fn() => mkdir("$base/a"));
    $t->step('it again', fn() => mkdir("$base/a"));
    $t->step('with a trailing slash', fn() => mkdir("$base/s/"));
    $t->step('is_dir', fn() => is_dir("$base/s"));
    $t->step('in a missing parent', fn() => mkdir("$base/x/y"));
    $t->step('recursive', fn() => mkdir("$base/x/y/z", 0777, true));
    $t->step('recursive, all there', fn() => mkdir("$base/x/y/z", 0777, true));
    $t->step('recursive, the last one new', fn() => mkdir("$base/x/y/w", 0777, true));
    file_put_contents("$base/file", 'f');
    $t->step('over a file', fn() => mkdir("$base/file"));
    $t->step('under a file', fn() => mkdir("$base/file/sub"));
    $t->step('recursive under a file', fn() => mkdir("$base/file/sub/deeper", 0777, true));
    $t->step('listing', fn() => scandir("$base/x/y"));
};

$scenarios['rmdir'] = static function (Trace $t, string $base): void {
    mkdir("$base/empty");
    mkdir("$base/full");
    file_put_contents("$base/full/f", 'x');
    file_put_contents("$base/file", 'x');
    $t->step('an empty directory', fn() => rmdir("$base/empty"));
    $t->step('gone', fn() => is_dir("$base/empty"));
    $t->step('it again', fn() => rmdir("$base/empty"));
    $t->step('a non-empty directory', fn() => rmdir("$base/full"));
    $t->step('a file', fn() => rmdir("$base/file"));
    $t->step('in a missing parent', fn() => rmdir("$base/none/d"));
    $t->step('the file is still there', fn() => content_of("$base/full/f"));
};

$scenarios['listings'] = static function (Trace $t, string $base): void {
    foreach (['b', 'a', 'C', '-dash', '.hidden'] as $name) {
        file_put_contents("$base/$name", $name);
    }
    mkdir("$base/sub");
    $t->step('scandir', fn() => scandir($base));
    $t->step('scandir descending', fn() => scandir($base, SCANDIR_SORT_DESCENDING));
    $t->step('scandir unsorted, sorted here', function () use ($base) {
        $names = scandir($base, SCANDIR_SORT_NONE);
        sort($names);
        return $names;
    });
    $t->step('the idiom array_diff(scandir(), [".", ".."])', fn() => array_values(array_diff(scandir($base), ['.', '..'])));
    $t->step('readdir, sorted here', function () use ($base) {
        $d = opendir($base);
        $names = [];
        while (($name = readdir($d)) !== false) {
            $names[] = $name;
        }
        rewinddir($d);
        $again = readdir($d) !== false;
        closedir($d);
        sort($names);
        return [$names, $again];
    });
    $t->step('DirectoryIterator, sorted here', function () use ($base) {
        $seen = [];
        foreach (new DirectoryIterator($base) as $entry) {
            $seen[] = $entry->getFilename() . ($entry->isDot() ? ' (dot)' : ($entry->isDir() ? ' (dir)' : ''));
        }
        sort($seen);
        return $seen;
    });
    $t->step('FilesystemIterator skips dots, sorted here', function () use ($base) {
        $seen = [];
        foreach (new FilesystemIterator($base, FilesystemIterator::KEY_AS_FILENAME | FilesystemIterator::SKIP_DOTS) as $name => $entry) {
            $seen[] = $name;
        }
        sort($seen);
        return $seen;
    });
    $t->step('scandir an empty directory', fn() => scandir("$base/sub"));
    $t->step('scandir a file', fn() => scandir("$base/a"));
    $t->step('scandir a missing directory', fn() => scandir("$base/none"));
    $t->step('glob is for plain files only', fn() => count(glob("$base/*")) > 0, known: 'glob() works only on plain files (PHP does not pass it to wrappers)');
};

$scenarios['stat family'] = static function (Trace $t, string $base): void {
    file_put_contents("$base/f", '12345');
    mkdir("$base/d");
    foreach (['f', 'd', 'none', 'f/x'] as $name) {
        $p = "$base/$name";
        $t->step("file_exists $name", fn() => file_exists($p));
        $t->step("is_file $name", fn() => is_file($p));
        $t->step("is_dir $name", fn() => is_dir($p));
        $t->step("is_link $name", fn() => is_link($p));
        $t->step("is_readable $name", fn() => is_readable($p));
        $t->step("is_writable $name", fn() => is_writable($p));
        $t->step("filesize $name", fn() => filesize($p), known: $name === 'd' ? 'a directory has size 0' : null);
        $t->step("filetype $name", fn() => filetype($p));
        $t->step("stat $name", fn() => stat($p), known: $name === 'd' ? 'a directory has size 0' : null);
        $t->step("mtime is recent $name", fn() => ($m = filemtime($p)) === false ? false : abs($m - time()) < 60);
    }
    $t->step('filesize after a write through an open stream', function () use ($base) {
        $f = fopen("$base/f", 'a');
        fwrite($f, '678');
        $open = filesize("$base/f");
        fclose($f);
        return [$open, filesize("$base/f")];
    }, known: 'writes are visible to others at fflush() or fclose()');
    $t->step('filesize after fflush', function () use ($base) {
        $f = fopen("$base/f", 'a');
        fwrite($f, '9');
        fflush($f);
        $flushed = filesize("$base/f");
        fclose($f);
        return $flushed;
    });
    $t->step('fstat of an open stream', function () use ($base) {
        $f = fopen("$base/f", 'r+');
        fwrite($f, 'ab');
        $st = fstat($f);
        fclose($f);
        return $st;
    });
};

$scenarios['touch'] = static function (Trace $t, string $base): void {
    $t->step('touch a missing file', fn() => touch("$base/t"));
    $t->step('created empty', fn() => [is_file("$base/t"), filesize("$base/t")]);
    file_put_contents("$base/t", 'keep');
    $t->step('touch an existing file', fn() => touch("$base/t"));
    $t->step('content kept', fn() => content_of("$base/t"));
    $t->step('touch in a missing directory', fn() => touch("$base/none/t"));
    mkdir("$base/d");
    $t->step('touch a directory', fn() => touch("$base/d"));
    $t->step('chmod', fn() => chmod("$base/t", 0600), known: 'no permission bits to change in a container');
};

$scenarios['copy'] = static function (Trace $t, string $base): void {
    file_put_contents("$base/src", "copy\0me");
    file_put_contents("$base/dst", 'old');
    mkdir("$base/d");
    $t->step('copy over a file', fn() => copy("$base/src", "$base/dst"));
    $t->step('copied', fn() => content_of("$base/dst"));
    $t->step('copy to a new file', fn() => copy("$base/src", "$base/new"));
    $t->step('copy a missing file', fn() => copy("$base/none", "$base/x"));
    $t->step('copy onto a directory', fn() => copy("$base/src", "$base/d"));
    $t->step('copy into a missing directory', fn() => copy("$base/src", "$base/none/x"));
    $t->step('copy a directory', fn() => copy("$base/d", "$base/d2"), known: 'a directory cannot be opened as a file');
    $t->step('copy to itself', fn() => copy("$base/src", "$base/src"));
    $t->step('after', fn() => content_of("$base/src"));
};

$scenarios['paths with ".", "..", "//" and a trailing "/"'] = static function (Trace $t, string $base): void {
    mkdir("$base/d");
    file_put_contents("$base/d/f", 'in d');
    file_put_contents("$base/top", 'top');
    $t->step('is_dir d/.', fn() => is_dir("$base/d/."));
    $t->step('is_dir d/..', fn() => is_dir("$base/d/.."));
    $t->step('is_dir d/', fn() => is_dir("$base/d/"));
    $t->step('read d/./f', fn() => file_get_contents("$base/d/./f"));
    $t->step('read d//f', fn() => file_get_contents("$base/d//f"));
    $t->step('read d/../top', fn() => file_get_contents("$base/d/../top"));
    $t->step('read none/../top', fn() => file_get_contents("$base/none/../top"));
    $t->step('file_exists none/../top', fn() => file_exists("$base/none/../top"), known: '".." is resolved by name, also after a missing directory');
    $t->step('write d/../new', fn() => file_put_contents("$base/d/../new", 'n'));
    $t->step('read new', fn() => content_of("$base/new"));
    $t->step('read top/ (a file with a slash)', fn() => file_get_contents("$base/top/"));
    $t->step('file_exists top/', fn() => file_exists("$base/top/"));
    $t->step('is_file top/', fn() => is_file("$base/top/"));
    $t->step('is_file top/.', fn() => is_file("$base/top/."));
    $t->step('fopen new2/ for writing', fn() => fopen("$base/new2/", 'w'));
    $t->step('new2 not made', fn() => file_exists("$base/new2"));
    $t->step('unlink top/', fn() => unlink("$base/top/"));
    $t->step('top kept', fn() => content_of("$base/top"));
    $t->step('scandir d/.', fn() => scandir("$base/d/."));
    $t->step('rmdir d/ (not empty)', fn() => rmdir("$base/d/"));
    $t->step('mkdir e/./ (e missing)', fn() => mkdir("$base/e/./"), known: '".." and "." are resolved by name');
    @rmdir("$base/e"); // only whefs made it
    $t->step('mkdir e', fn() => mkdir("$base/e"));
    $t->step('mkdir e/./ (e there)', fn() => mkdir("$base/e/./"));
    $t->step('rename d/f to e/./g', fn() => rename("$base/d/f", "$base/e/./g"));
    $t->step('moved', fn() => content_of("$base/e/g"));
    $t->step('DirectoryIterator dots are directories', function () use ($base) {
        $seen = [];
        foreach (new DirectoryIterator("$base/e") as $entry) {
            $seen[] = $entry->getFilename() . ($entry->isDir() ? '/' : '');
        }
        sort($seen);
        return $seen;
    });
};

run_differential($scenarios);
--EXPECT--
unlink: same (7 steps)
rename: same (15 steps)
mkdir: same (12 steps)
rmdir: same (7 steps)
listings: same (11 steps)
  known difference: glob is for plain files only (glob() works only on plain files (PHP does not pass it to wrappers))
stat family: same (43 steps)
  known difference: filesize d (a directory has size 0)
  known difference: stat d (a directory has size 0)
  known difference: filesize after a write through an open stream (writes are visible to others at fflush() or fclose())
touch: same (7 steps)
  known difference: chmod (no permission bits to change in a container)
copy: same (9 steps)
paths with ".", "..", "//" and a trailing "/": same (26 steps)
  known difference: file_exists none/../top (".." is resolved by name, also after a missing directory)
  known difference: mkdir e/./ (e missing) (".." and "." are resolved by name)
9 of 9 scenarios act the same, but for 7 known differences
