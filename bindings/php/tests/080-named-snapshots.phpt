--TEST--
Named snapshots: create, list, delete, read-only views (openSnapshot, the snapshot option, the stream wrapper), restore, diff, Info
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\Fs;
use Whefs\Snapshot;
use Whefs\StreamWrapper;

/** Every path in the container: contents, null for a directory. */
function tree(Fs $fs, string $dir = '/'): array
{
    $out = [];
    foreach ($fs->entries($dir) as $e) {
        $p = rtrim($dir, '/') . '/' . $e['name'];
        $out[$p] = $e['kind'] === WHEFS_KIND_DIR ? null : $fs->read($p);
        if ($e['kind'] === WHEFS_KIND_DIR) {
            $out += tree($fs, $p);
        }
    }
    ksort($out);
    return $out;
}

$path = temp_container();
$fs = Fs::open($path);
$fs->write('a.txt', 'alpha');
$fs->write('b.txt', "bravo\0");
$fs->mkdir('d');
$fs->write('d/c.txt', 'charlie');
$gen = $fs->info()->generation;

echo "-- isolation\n";
$snap = $fs->createSnapshot('before');
var_dump($snap instanceof Snapshot, $snap->name, $snap->generation === $gen, $snap->files, $snap->dirs, $snap->exclusivePages);
var_dump(abs($snap->created() - time()) < 600);
$before = tree($fs);
$fs->write('a.txt', 'ALPHA, rewritten');
$fs->unlink('b.txt');
$fs->rename('d/c.txt', 'e.txt');
$f = $fs->openFile('new.txt', 'w');
$f->write('fresh');
$f->close();
$view = $fs->openSnapshot('before');
var_dump($view->snapshot, $view->readonly, $fs->snapshot, tree($view) === $before);
var_dump($view->openFile('a.txt')->read());
$i = $view->info();
var_dump($i->generation === $gen, $i->files, $i->dirs);
var_dump($fs->listdir());
$view->close();

// another process, while this one has the container open
$code = 'require ' . var_export(__DIR__ . '/../src/Whefs.php', true) . ';'
    . '$v = Whefs\Fs::open($argv[1], null, ["snapshot" => "before"]);'
    . 'echo $v->read("a.txt"), " ", json_encode($v->listdir()), "\n";';
$proc = proc_open(php_command('-r', $code, $path), [1 => ['pipe', 'w']], $pipes);
echo stream_get_contents($pipes[1]);
fclose($pipes[1]);
var_dump(proc_close($proc));
$fs->close();

// across a reopen, with the option; the stream wrapper serves a snapshot too
$view = Fs::open($path, null, ['snapshot' => 'before']);
var_dump($view->readonly, tree($view) === $before);
$view->close();
StreamWrapper::register('old', $path, ['snapshot' => 'before']);
var_dump(file_get_contents('whefs://old/a.txt'), scandir('whefs://old/'));
var_dump(@file_put_contents('whefs://old/a.txt', 'no'));
StreamWrapper::unregister('old');
show_error(fn() => Fs::open($path, 'rw', ['snapshot' => 'before']));
show_error(fn() => Fs::open($path, null, ['snapshot' => 'missing']));
show_error(fn() => Fs::open($path, null, ['snapshot' => 42]));

echo "-- list, delete\n";
$fs = Fs::open(temp_container('list.whefs'));
var_dump($fs->snapshots());
$fs->write('f', '1');
$fs->createSnapshot('one');
$fs->write('f', str_repeat('x', 20000));
$fs->createSnapshot('two');
$fs->createSnapshot('Zero');
$names = fn() => array_map(fn(Snapshot $s) => $s->name, $fs->snapshots());
var_dump($names());
$one = $fs->snapshots()[1];
var_dump($one->files, $one->exclusivePages >= 1, $fs->info()->snapshots);
show_error(fn() => $fs->createSnapshot('one'));
show_error(fn() => $fs->createSnapshot(''));
show_error(fn() => $fs->createSnapshot('a/b'));
var_dump($fs->deleteSnapshot('one') === $one->exclusivePages, $names());
show_error(fn() => $fs->deleteSnapshot('one'));
$fs->deleteSnapshot('two');
$fs->deleteSnapshot('Zero');
$i = $fs->info();
var_dump($names(), $i->snapshots, $i->pagesSnapshot);
$fs->check();

echo "-- info\n";
$fs->write('big', str_repeat('z', 200000));
$i = $fs->info();
var_dump($i->pagesReclaimable === $i->pagesFree + $i->pagesPending);
$fs->createSnapshot('s');
$fs->unlink('big');
$i = $fs->info();
var_dump($i->snapshots, $i->files, $i->pagesSnapshot * $i->pageSize >= 200000);
var_dump($fs->deleteSnapshot('s') === $i->pagesSnapshot);

echo "-- view refuses writes\n";
$fs->write('keep.txt', 'kept');
$fs->mkdir('dir');
$fs->createSnapshot('s');
$view = $fs->openSnapshot('s');
show_error(fn() => $view->write('keep.txt', 'x'));
show_error(fn() => $view->mkdir('new'));
show_error(fn() => $view->rmdir('dir'));
show_error(fn() => $view->removeAll('dir'));
show_error(fn() => $view->unlink('keep.txt'));
show_error(fn() => $view->rename('keep.txt', 'moved'));
show_error(fn() => $view->copy('keep.txt', 'copy'));
show_error(fn() => $view->openFile('keep.txt', 'w'));
show_error(fn() => $view->openFile('keep.txt', 'r+'));
show_error(fn() => $view->setLabel('label'));
show_error(fn() => $view->chmod('keep.txt', 0600));
show_error(fn() => $view->begin());
show_error(fn() => $view->createSnapshot('s2'));
show_error(fn() => $view->deleteSnapshot('s'));
show_error(fn() => $view->restore('s'));
var_dump($view->read('keep.txt'), $view->isDir('dir'), $names());
$view->check();
$fs->close();
var_dump($view->read('keep.txt')); // the view outlives the container's Fs
$view->close();
show_error(fn() => $view->read('keep.txt'));

echo "-- restore, diff\n";
$fs = Fs::open(temp_container('restore.whefs'));
$data = str_repeat(implode('', array_map('chr', range(0, 255))), 300);
$fs->mkdir('site/img', true);
$fs->write('site/img/logo.bin', $data);
$fs->write('site/index.html', '<h1>v1</h1>');
$fs->chmod('site/index.html', 0640);
$fs->link('site/index.html', 'site/home.html');
$fs->write('notes.txt', 'v1 notes');
$fs->createSnapshot('v1');
$v1 = tree($fs);
$fs->write('site/index.html', '<h1>v2</h1>');
$fs->unlink('site/home.html');
$fs->removeAll('site/img');
$fs->write('site/extra.html', 'only in v2');
$fs->write('notes.txt', 'v2 notes');
$fs->write('added.txt', 'only in v2');
$old = $fs->openSnapshot('v1');
foreach ($old->diff($fs) as $c) {
    echo "{$c['kind']} {$c['path']}\n";
}
var_dump($fs->diff($fs));
$fs->restore('v1', 'site');
var_dump($fs->listdir('site'), $fs->read('site/img/logo.bin') === $data, $fs->read('notes.txt'));
$st = $fs->stat('site/index.html');
printf("%o %d\n", $st->mode & 0o7777, $st->nlink);
$fs->restore('v1', 'added.txt');
var_dump($fs->exists('added.txt'));
$fs->restore('v1');
var_dump(tree($fs) === $v1, $old->diff($fs));
show_error(fn() => $fs->restore('nope'));
$fs->check();
$old->close();
$fs->close();
echo "done\n";
?>
--EXPECT--
-- isolation
bool(true)
string(6) "before"
bool(true)
int(3)
int(2)
int(0)
bool(true)
string(6) "before"
bool(true)
NULL
bool(true)
string(5) "alpha"
bool(true)
int(3)
int(2)
array(4) {
  [0]=>
  string(5) "a.txt"
  [1]=>
  string(1) "d"
  [2]=>
  string(5) "e.txt"
  [3]=>
  string(7) "new.txt"
}
alpha ["a.txt","b.txt","d"]
int(0)
bool(true)
bool(true)
string(5) "alpha"
array(5) {
  [0]=>
  string(1) "."
  [1]=>
  string(2) ".."
  [2]=>
  string(5) "a.txt"
  [3]=>
  string(5) "b.txt"
  [4]=>
  string(1) "d"
}
bool(false)
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
Whefs\ArgumentException 1 WHEFS_ERR_ARG
-- list, delete
array(0) {
}
array(3) {
  [0]=>
  string(4) "Zero"
  [1]=>
  string(3) "one"
  [2]=>
  string(3) "two"
}
int(1)
bool(true)
int(3)
Whefs\ExistsException 13 WHEFS_ERR_EXISTS
Whefs\ArgumentException 1 WHEFS_ERR_ARG
Whefs\ArgumentException 1 WHEFS_ERR_ARG
bool(true)
array(2) {
  [0]=>
  string(4) "Zero"
  [1]=>
  string(3) "two"
}
Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
array(0) {
}
int(0)
int(0)
-- info
bool(true)
int(1)
int(1)
bool(true)
bool(true)
-- view refuses writes
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
string(4) "kept"
bool(true)
array(1) {
  [0]=>
  string(1) "s"
}
string(4) "kept"
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
-- restore, diff
added /added.txt
changed /notes.txt
added /site/extra.html
removed /site/home.html
removed /site/img
removed /site/img/logo.bin
changed /site/index.html
array(0) {
}
array(3) {
  [0]=>
  string(9) "home.html"
  [1]=>
  string(3) "img"
  [2]=>
  string(10) "index.html"
}
bool(true)
string(8) "v2 notes"
640 2
bool(false)
bool(true)
array(0) {
}
Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
done
