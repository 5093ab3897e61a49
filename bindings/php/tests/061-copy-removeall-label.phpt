--TEST--
Fs::copy (returns the byte count), Fs::removeAll (rm -r in one commit), Fs::setLabel
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\Fs;

$path = temp_container();
$fs = Fs::open($path, 'rw', ['label' => 'first']);

echo "-- copy\n";
$data = str_repeat(implode('', array_map('chr', range(0, 255))), 100) . "\0";
$fs->write('src', $data);
$fs->write('dst', 'old, to be replaced');
var_dump($fs->copy('src', 'dst'), $fs->read('dst') === $data);
$fs->write('empty', '');
var_dump($fs->copy('empty', 'empty2'), $fs->read('empty2'));
$fs->mkdir('d');
show_error(fn() => $fs->copy('missing', 'x'));
show_error(fn() => $fs->copy('src', 'no/parent'));
show_error(fn() => $fs->copy('d', 'x'));
show_error(fn() => $fs->copy('src', 'd'));

echo "-- removeAll\n";
$fs->mkdir('t/a/b', true);
$fs->write('t/a/b/f', '1');
$fs->write('t/g', '2');
$fs->removeAll('t');
var_dump($fs->exists('t'), $fs->listdir());
show_error(fn() => $fs->removeAll('t'));
show_error(fn() => $fs->removeAll('src'));
show_error(fn() => $fs->removeAll('/'));
$fs->check();

echo "-- setLabel\n";
var_dump($fs->label());
$fs->setLabel('zweite Étiquette');
var_dump($fs->label());
show_error(fn() => $fs->setLabel(str_repeat('x', 65)));
show_error(fn() => $fs->setLabel("\xff\xfe"));
var_dump($fs->label());
$fs->close();
$ro = Fs::open($path, 'r');
var_dump($ro->label());
show_error(fn() => $ro->setLabel('nope'));
show_error(fn() => $ro->copy('src', 'copy'));
show_error(fn() => $ro->removeAll('d'));
$ro->close();
$fs = Fs::open($path);
$fs->setLabel('');
var_dump($fs->label());
$fs->close();
show_error(fn() => $fs->copy('src', 'x'));
echo "done\n";
?>
--EXPECT--
-- copy
int(25601)
bool(true)
int(0)
string(0) ""
Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
Whefs\IsDirectoryException 16 WHEFS_ERR_IS_DIR
Whefs\IsDirectoryException 16 WHEFS_ERR_IS_DIR
-- removeAll
bool(false)
array(5) {
  [0]=>
  string(1) "d"
  [1]=>
  string(3) "dst"
  [2]=>
  string(5) "empty"
  [3]=>
  string(6) "empty2"
  [4]=>
  string(3) "src"
}
Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
Whefs\NotDirectoryException 15 WHEFS_ERR_NOT_DIR
Whefs\ArgumentException 1 WHEFS_ERR_ARG
-- setLabel
string(5) "first"
string(17) "zweite Étiquette"
Whefs\ArgumentException 1 WHEFS_ERR_ARG
Whefs\ArgumentException 1 WHEFS_ERR_ARG
string(17) "zweite Étiquette"
string(17) "zweite Étiquette"
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
Whefs\AccessException 8 WHEFS_ERR_ACCESS
string(0) ""
Whefs\ClosedException 18 WHEFS_ERR_CLOSED
done
