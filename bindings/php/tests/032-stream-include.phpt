--TEST--
Stream wrapper: include/require of PHP code stored in a container (stream_stat), __DIR__ inside it
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\Fs;
use Whefs\StreamWrapper;

// Build the "application" through the object API, then run it through the wrapper.
$fs = Fs::open(temp_container('app.whefs'));
$fs->mkdir('lib/util', true);
$fs->write('config.php', '<?php return ["name" => "boxed app", "answer" => 42];');
$fs->write('lib/Greeter.php', <<<'PHP'
<?php
namespace App;
require_once __DIR__ . '/util/strings.php';
final class Greeter
{
    public function greet(string $who): string
    {
        return shout("hello, $who") . ' from ' . basename(__FILE__);
    }
}
PHP);
$fs->write('lib/util/strings.php', '<?php namespace App; function shout(string $s): string { return strtoupper($s) . "!"; }');
$fs->write('page.php', "Plain text before <?= 6 * 7 ?> and after.\n");
StreamWrapper::register('app', $fs);

$config = include 'whefs://app/config.php';
var_dump($config);
require 'whefs://app/lib/Greeter.php';
require_once 'whefs://app/lib/Greeter.php';     // once: no "cannot redeclare"
echo (new App\Greeter())->greet('whefs'), "\n";
include 'whefs://app/page.php';
var_dump(in_array('whefs://app/lib/util/strings.php', get_included_files(), true));

// a missing file: include warns and goes on, require stops
var_dump(@include 'whefs://app/missing.php');
echo "still running\n";
?>
--EXPECT--
array(2) {
  ["name"]=>
  string(9) "boxed app"
  ["answer"]=>
  int(42)
}
HELLO, WHEFS! from Greeter.php
Plain text before 42 and after.
bool(true)
bool(false)
still running
