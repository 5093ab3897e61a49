--TEST--
Transactions: nothing visible until commit, then all; an exception aborts and is rethrown; a failing operation at commit commits nothing; use after the end is ClosedException
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\Fs;
use Whefs\Transaction;

/** Every path in the container => its content, or "<dir>". */
function snapshot(Fs $fs, string $dir = ''): array
{
    $out = [];
    foreach ($fs->entries($dir === '' ? '/' : $dir) as $e) {
        $p = $dir === '' ? $e['name'] : "$dir/{$e['name']}";
        if ($e['kind'] === WHEFS_KIND_DIR) {
            $out[$p] = '<dir>';
            $out += snapshot($fs, $p);
        } else {
            $out[$p] = str_replace("\0", '\0', $fs->read($p));   // NUL shown as \0
        }
    }
    ksort($out);
    return $out;
}

$path = temp_container();
$fs = Fs::open($path);
$reader = Fs::open($path);          // another handle, opened before
$fs->mkdir('old');
$fs->write('old/keep', 'keep');
$fs->write('gone', 'x');
$before = snapshot($reader);

echo "-- begin/commit: invisible until the commit, then all of it\n";
$t = $fs->begin();
var_dump($t instanceof Transaction, $t->isActive());
$t->mkdir('site/v2', true);
var_dump($t->write('site/v2/index.html', "<h1>\0new</h1>"));
$t->write('site/v2/notes.txt', "a\nb\n");
$t->rename('site/v2/notes.txt', 'site/notes.txt');   // sees its own write
$t->unlink('gone');
$t->removeAll('old');
$t->setLabel('v2');
var_dump(snapshot($reader) === $before, snapshot($fs) === $before, $reader->label());
$t->commit();
var_dump($t->isActive());
var_dump(snapshot($reader), $reader->label(), snapshot($fs) === snapshot($reader));
$fs->check();

echo "-- transaction(): commits when the callable returns, returns its result\n";
$r = $fs->transaction(function (Transaction $t) use ($fs) {
    $t->write('a', '1');
    $t->mkdir('d');
    return $fs->exists('a') ? 'visible too early' : 'result';
});
var_dump($r, $fs->read('a'), $fs->isDir('d'));

echo "-- an exception in the callable aborts and is rethrown\n";
$fs->write('x', 'old');
try {
    $fs->transaction(function (Transaction $t) {
        $t->write('x', 'new');
        $t->write('y', 'new');
        throw new DomainException('boom');
    });
} catch (DomainException $e) {
    echo get_class($e), ': ', $e->getMessage(), "\n";
}
var_dump($fs->read('x'), $fs->exists('y'));

echo "-- a failing operation at commit commits nothing\n";
$before = snapshot($fs);
try {
    $fs->transaction(function (Transaction $t) {
        $t->write('new', 'data');
        $t->mkdir('dir');
        $t->unlink('a');
        $t->rename('missing', 'elsewhere');   // recorded fine: checked at commit
    });
} catch (Whefs\NotFoundException $e) {
    printf("%s %d %s\n", get_class($e), $e->getCode(), $e->getName());
}
var_dump(snapshot($fs) === $before);
$fs->write('file', '');
foreach ([
    'mkdir no/parent' => fn($t) => $t->mkdir('no/parent'),
    'mkdir d' => fn($t) => $t->mkdir('d'),
    'unlink d' => fn($t) => $t->unlink('d'),
    'rmdir file' => fn($t) => $t->rmdir('file'),
    'removeAll file' => fn($t) => $t->removeAll('file'),
    'write d' => fn($t) => $t->write('d', ''),
] as $what => $op) {
    $t = $fs->begin();
    $t->write('first', '1');
    $op($t);
    echo "$what: ";
    show_error(fn() => $t->commit());
    var_dump($t->isActive(), $fs->exists('first'));
}

echo "-- explicit abort; ending inside transaction()\n";
$t = $fs->begin();
$t->write('ab', '1');
$t->abort();
var_dump($t->isActive(), $fs->exists('ab'));
$fs->transaction(function (Transaction $t) {
    $t->write('ab', '2');
    $t->abort();
});
var_dump($fs->exists('ab'));
$fs->transaction(function (Transaction $t) {
    $t->write('ab', '3');
    $t->commit();
});
var_dump($fs->read('ab'));

echo "-- use after commit or abort: ClosedException\n";
$committed = $fs->begin();
$committed->commit();                       // an empty transaction commits nothing
$aborted = $fs->begin();
$aborted->abort();
foreach ([$committed, $aborted] as $t) {
    show_error(fn() => $t->write('x', ''));
    show_error(fn() => $t->mkdir('x'));
    show_error(fn() => $t->unlink('x'));
    show_error(fn() => $t->rmdir('x'));
    show_error(fn() => $t->removeAll('x'));
    show_error(fn() => $t->rename('x', 'y'));
    show_error(fn() => $t->setLabel('x'));
    show_error(fn() => $t->commit());
    show_error(fn() => $t->abort());
}

echo "-- a bad argument throws at once and the transaction goes on\n";
$fs->transaction(function (Transaction $t) {
    $t->write('ok', '1');
    show_error(fn() => $t->setLabel(str_repeat('l', 65)));
    show_error(fn() => $t->write('/', 'root'));
    try {
        $t->mkdir("nul\0byte");
    } catch (ValueError $e) {
        echo get_class($e), "\n";
    }
    $t->write('ok2', '2');
});
var_dump($fs->read('ok') . $fs->read('ok2'), $fs->label());

echo "-- read-only: AccessException\n";
$ro = Fs::open($path, 'r');
show_error(fn() => $ro->begin());
show_error(fn() => $ro->transaction(fn() => null));
$ro->close();

echo "-- dropped or left open: aborted\n";
$t = $fs->begin();
$t->write('dropped', 'x');
unset($t);
var_dump($fs->exists('dropped'));
$t = $fs->begin();
$t->write('never', 'x');
$fs->close();
var_dump($t->isActive());
show_error(fn() => $t->commit());
var_dump($reader->exists('never'));
$reader->check();
$reader->close();
echo "done\n";
?>
--EXPECT--
-- begin/commit: invisible until the commit, then all of it
bool(true)
bool(true)
int(13)
bool(true)
bool(true)
string(0) ""
bool(false)
array(4) {
  ["site"]=>
  string(5) "<dir>"
  ["site/notes.txt"]=>
  string(4) "a
b
"
  ["site/v2"]=>
  string(5) "<dir>"
  ["site/v2/index.html"]=>
  string(14) "<h1>\0new</h1>"
}
string(2) "v2"
bool(true)
-- transaction(): commits when the callable returns, returns its result
string(6) "result"
string(1) "1"
bool(true)
-- an exception in the callable aborts and is rethrown
DomainException: boom
string(3) "old"
bool(false)
-- a failing operation at commit commits nothing
Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
bool(true)
mkdir no/parent: Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
bool(false)
bool(false)
mkdir d: Whefs\ExistsException 13 WHEFS_ERR_EXISTS
bool(false)
bool(false)
unlink d: Whefs\IsDirectoryException 16 WHEFS_ERR_IS_DIR
bool(false)
bool(false)
rmdir file: Whefs\NotDirectoryException 15 WHEFS_ERR_NOT_DIR
bool(false)
bool(false)
removeAll file: Whefs\NotDirectoryException 15 WHEFS_ERR_NOT_DIR
bool(false)
bool(false)
write d: Whefs\IsDirectoryException 16 WHEFS_ERR_IS_DIR
bool(false)
bool(false)
-- explicit abort; ending inside transaction()
bool(false)
bool(false)
bool(false)
string(1) "3"
-- use after commit or abort: ClosedException
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
-- a bad argument throws at once and the transaction goes on
Whefs\ArgumentException 1 WHEFS_ERR_ARG
Whefs\ArgumentException 1 WHEFS_ERR_ARG
ValueError
string(2) "12"
string(2) "v2"
-- read-only: AccessException
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
-- dropped or left open: aborted
bool(false)
bool(false)
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
bool(false)
done
