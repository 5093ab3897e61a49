--TEST--
Several PHP processes write different files of one container at once; a reader meanwhile sees only whole versions
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\Fs;

const WORKERS = 4;
const ROUNDS = 25;

$container = temp_container();
Fs::open($container)->close();                       // created before the workers race to open it

$workers = [];
for ($i = 0; $i < WORKERS; $i++) {
    $workers[$i] = start_worker(__DIR__ . '/worker.inc', $container, 'write', "p$i", (string)ROUNDS);
}
foreach ($workers as [, , $out]) {
    fgets($out);                                     // each is ready: the container is open
}
foreach ($workers as [, $in]) {
    fwrite($in, "go\n");                             // all start together
}

// Meanwhile read the workers' files: every read is one whole version.
$fs = Fs::open($container, 'r');
$versions = [];
for ($i = 0; $i < WORKERS; $i++) {
    for ($r = 0; $r < ROUNDS; $r++) {
        $versions["p$i"][stamped("p$i", $r)] = true;
    }
}
$reads = 0;
$torn = 0;
$deadline = microtime(true) + 60;
do {
    $running = 0;
    foreach ($workers as &$worker) {
        $running += worker_running($worker) ? 1 : 0;
    }
    unset($worker);
    for ($i = 0; $i < WORKERS; $i++) {
        try {
            $data = $fs->read("p$i.bin");
        } catch (Whefs\NotFoundException) {
            continue;                                // not written yet
        }
        $reads++;
        if ($data !== '' && !isset($versions["p$i"][$data])) {
            $torn++;
        }
    }
} while ($running > 0 && microtime(true) < $deadline);
$fs->close();

foreach ($workers as $i => $worker) {
    echo "worker $i exit ", finish_worker($worker), "\n";
}
var_dump($reads > 0, $torn);

$fs = Fs::open($container);
for ($i = 0; $i < WORKERS; $i++) {
    $last = stamped("p$i", ROUNDS - 1);
    $log = explode("\n", rtrim($fs->read("p$i.log")));
    printf("p%d: last version %s, %d log lines in order %s\n", $i,
        $fs->read("p$i.bin") === $last ? 'yes' : 'NO', count($log),
        $log === array_map(fn($r) => "p$i round $r", range(0, ROUNDS - 1)) ? 'yes' : 'NO');
}
var_dump(count($fs->listdir()));
$fs->check();
echo "check: clean\n";
?>
--EXPECT--
worker 0 exit 0
worker 1 exit 0
worker 2 exit 0
worker 3 exit 0
bool(true)
int(0)
p0: last version yes, 25 log lines in order yes
p1: last version yes, 25 log lines in order yes
p2: last version yes, 25 log lines in order yes
p3: last version yes, 25 log lines in order yes
int(8)
check: clean
