--TEST--
Stream wrapper: names, whefs:/// (the name "default"), one shared container per name, read-only containers, unregister
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/helpers.inc';

use Whefs\Fs;
use Whefs\StreamWrapper;

$one = temp_container('one.whefs');
$two = temp_container('two.whefs');
StreamWrapper::register('one', $one);
StreamWrapper::register('default', $two, ['busy_timeout' => 0.5, 'label' => 'second']);
var_dump(file_exists($one));                        // opened at first use only

file_put_contents('whefs://one/f', 'in one');
file_put_contents('whefs:///f', 'in two');
var_dump(file_get_contents('whefs://one/f'), file_get_contents('whefs://default/f'), file_get_contents('whefs:///f'));
var_dump(StreamWrapper::fs('default')->label());
var_dump(StreamWrapper::fs('one') === StreamWrapper::fs('one'), StreamWrapper::url('one', 'a/b'));

// every stream on a name shares its one container: a stream still open
// when the name is unregistered is closed (committed) with the container
$open = fopen('whefs://one/pending', 'w');
fwrite($open, 'committed at unregister');
var_dump(rename('whefs://one/f', 'whefs:///g'));   // not across containers
StreamWrapper::unregister('one');
var_dump(@fwrite($open, 'more'));
var_dump(file_exists('whefs://one/f'));
var_dump(in_array('whefs', stream_get_wrappers(), true));
var_dump(Fs::open($one)->read('pending'));

// registering an Fs: its owner keeps it; read-only is not writable
$ro = Fs::open($one, 'r');
StreamWrapper::register('ro', $ro);
var_dump(file_get_contents('whefs://ro/pending'), is_writable('whefs://ro/pending'), is_readable('whefs://ro/pending'));
var_dump(file_put_contents('whefs://ro/new', 'x'));
StreamWrapper::unregister('ro');
var_dump($ro->isClosed());

// bad registrations throw: they are programming errors, not filesystem calls
show_error(fn() => StreamWrapper::register('default', $two));
show_error(fn() => StreamWrapper::register('bad name', $two));
show_error(fn() => StreamWrapper::register('ok', $ro, ['busy_timeout' => 1]));
show_error(fn() => StreamWrapper::unregister('never'));
show_error(fn() => StreamWrapper::fs('never'));
StreamWrapper::unregister('default');
var_dump(in_array('whefs', stream_get_wrappers(), true));
var_dump(@file_get_contents('whefs:///f'));
?>
--EXPECTF--
bool(false)
string(6) "in one"
string(6) "in two"
string(6) "in two"
string(6) "second"
bool(true)
string(15) "whefs://one/a/b"

Warning: whefs: rename(whefs://one/f): cannot rename across containers (to whefs:///g) (WHEFS_ERR_UNSUPPORTED) in %s on line %d
bool(false)
bool(false)
bool(false)
bool(true)
string(23) "committed at unregister"
string(23) "committed at unregister"
bool(false)
bool(true)

Warning: whefs: fopen(whefs://ro/new): access denied: cannot open "/new" for writing: the container is open read-only (WHEFS_ERR_ACCESS) in %s on line %d

Warning: file_put_contents(whefs://ro/new): Failed to open stream: "Whefs\StreamWrapper::stream_open" call failed in %s on line %d
bool(false)
bool(false)
Whefs\ExistsException 13 WHEFS_ERR_EXISTS
Whefs\ArgumentException 1 WHEFS_ERR_ARG
Whefs\ArgumentException 1 WHEFS_ERR_ARG
Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
Whefs\NotFoundException 12 WHEFS_ERR_NOT_FOUND
bool(false)
bool(false)
