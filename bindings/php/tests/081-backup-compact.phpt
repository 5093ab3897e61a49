--TEST--
Fs::backup (one committed state, compact and clean, progress callback, a writer committing meanwhile, a view's snapshot) and Fs::compact (smaller file, files and snapshots kept, BusyException, AccessException)
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\BackupReport;
use Whefs\CompactReport;
use Whefs\Fs;

function pattern(int $n, int $seed): string
{
    $s = '';
    for ($i = 0; $i < $n; $i++) {
        $s .= chr((($i * 2654435761 + $seed) >> 3) & 0xFF);
    }
    return $s;
}

echo "-- backup\n";
$src = temp_container('src.whefs');
$dest = temp_container('copy.whefs');
$fs = Fs::open($src);
$writer = Fs::open($src);
$fs->mkdir('f');
for ($i = 0; $i < 60; $i++) {
    $fs->write("f/$i", pattern($i * 977 % 30000, $i));
}
for ($i = 0; $i < 60; $i += 2) {
    $fs->unlink("f/$i");
}
$fs->createSnapshot('s');
$info = $fs->info();
$calls = [];
$report = $fs->backup($dest, function (int $done, int $total) use (&$calls, $writer): void {
    if (!$calls) { // a writer commits while the backup runs
        $writer->write('during', 'not in the copy');
        $writer->unlink('f/3');
    }
    $calls[] = [$done, $total];
});
var_dump($report instanceof BackupReport, count($calls) > 0);
$last = end($calls);
var_dump($last[0] === $last[1], $report->generation === $info->generation);
var_dump($report->files === $info->files, $report->dirs, $report->bytes === $report->pages * $info->pageSize);
clearstatcache();
var_dump($report->bytes === filesize($dest), $report->bytes < filesize($src));
var_dump($fs->exists('during'), $fs->exists('f/3'));
$copy = Fs::open($dest, 'r');
$copy->check();
var_dump($copy->exists('during'), $copy->read('f/3') === pattern(3 * 977, 3), $copy->exists('f/2'));
$ci = $copy->info();
var_dump($ci->snapshots, $ci->pagesFree + $ci->pagesPending);
$copy->close();
$writer->close();

show_error(fn() => $fs->backup($dest));
show_error(fn() => $fs->backup(dirname($dest) . '/no-such-dir/x.whefs'));
try {
    $fs->backup(temp_container('bad.whefs'), 'no_such_function');
} catch (TypeError $e) {
    echo get_class($e), "\n";
}
var_dump(file_exists(temp_container('bad.whefs')));

// an exception in the callback: not called again, thrown after the backup
$n = 0;
try {
    $fs->backup(temp_container('thrown.whefs'), function () use (&$n) {
        $n++;
        throw new DomainException('stop');
    });
} catch (DomainException $e) {
    echo get_class($e), ' ', $e->getMessage(), "\n";
}
var_dump($n);
$copy = Fs::open(temp_container('thrown.whefs'), 'r');
$copy->check();
var_dump($copy->read('f/7') === pattern(7 * 977, 7));
$copy->close();

// a view's snapshot
$fs->write('doc', 'version 2');
$view = $fs->openSnapshot('s');
$report = $view->backup(temp_container('view.whefs'));
$view->close();
$copy = Fs::open(temp_container('view.whefs'), 'r');
var_dump($copy->exists('doc'), $copy->exists('during'), $copy->exists('f/3'));
$copy->close();
$fs->close();

echo "-- compact\n";
$path = temp_container('compact.whefs');
$fs = Fs::open($path, 'rw', ['durability' => 'off', 'busy_timeout' => 0.05]);
$fs->mkdir('d');
for ($i = 0; $i < 300; $i++) {
    $fs->write("d/$i", pattern(3000 + $i * 7, $i));
}
$fs->write('kept', 'old');
$fs->createSnapshot('s');
$fs->write('kept', 'new');
for ($i = 0; $i < 300; $i++) {
    if ($i % 4) {
        $fs->unlink("d/$i");
    }
}
clearstatcache();
$before = filesize($path);
$page = $fs->info()->pageSize;

$other = Fs::open($path, 'r');
show_error(fn() => $fs->compact());
$other->close();
$file = $fs->openFile('kept');
show_error(fn() => $fs->compact());
$file->close();
$view = $fs->openSnapshot('s');
show_error(fn() => $fs->compact());
show_error(fn() => $view->compact());
$view->close();

$r = $fs->compact();
clearstatcache();
var_dump($r instanceof CompactReport, $r->pagesBefore * $page === $before, $r->pagesAfter < $r->pagesBefore);
var_dump(filesize($path) === $r->pagesAfter * $page, $r->commits >= 1);
$fs->check();
$ok = true;
for ($i = 0; $i < 300; $i += 4) {
    $ok = $ok && $fs->read("d/$i") === pattern(3000 + $i * 7, $i);
}
var_dump($ok, $fs->read('kept'), $fs->openSnapshot('s')->read('kept'));
$fs->close();
$ro = Fs::open($path, 'r');
show_error(fn() => $ro->compact());
$ro->check();
$ro->close();
echo "done\n";
?>
--EXPECT--
-- backup
bool(true)
bool(true)
bool(true)
bool(true)
bool(true)
int(2)
bool(true)
bool(true)
bool(true)
bool(true)
bool(false)
bool(false)
bool(true)
bool(false)
int(0)
int(0)
Whefs\ExistsException 13 WHEFS_ERR_EXISTS
Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
TypeError
bool(false)
DomainException stop
int(1)
bool(true)
bool(false)
bool(false)
bool(true)
-- compact
Whefs\BusyException 14 WHEFS_ERR_BUSY
Whefs\BusyException 14 WHEFS_ERR_BUSY
Whefs\BusyException 14 WHEFS_ERR_BUSY
Whefs\AccessException 8 WHEFS_ERR_ACCESS
bool(true)
bool(true)
bool(true)
bool(true)
bool(true)
bool(true)
string(3) "new"
string(3) "old"
Whefs\AccessException 8 WHEFS_ERR_ACCESS
done
