/*
 * whefs.i — the SWIG interface of the whefs C API (include/whefs.h).
 *
 * Shared by the language bindings: the part outside the #ifdef sections is
 * language-neutral (the header, read-only structs); each language adds its
 * typemaps in its own section (#ifdef SWIGPYTHON, #ifdef SWIGPHP). The
 * wrapped API keeps the C names and meanings; what changes is only how
 * values cross:
 *
 *  - a status code (every `int` result) becomes nothing on WHEFS_OK and an
 *    exception otherwise, carrying whefs_errmsg() — read on the calling
 *    thread right after the failed call, so it is that call's message
 *    (whefs_errmsg() is per thread; this file keeps no status of its own);
 *  - out-parameters become return values;
 *  - byte buffers go in and out as the language's byte strings, NUL bytes
 *    included.
 *
 * PHP build: swig -php7 -I include bindings/swig/whefs.i (see the SWIGPHP
 * section).
 * Python build: swig -python -threads -I include bindings/swig/whefs.i
 * (-threads: the GIL is released during every library call, so Python
 * threads run in the library in parallel).
 */

#if defined(SWIGPYTHON)
%module(package="whefs") whefs_c
#else
%module whefs
#endif

%{
#include <stdlib.h>
#include <string.h>
#include "whefs.h"
%}

%include <stdint.i>

/* ======================================================================== */
#ifdef SWIGPYTHON

%feature("autodoc", "1");

%{
/* Raises the exception for status `rc`: whefs._errors.error_for(rc, msg)
 * makes it (the classes live in Python, once). Call with the GIL held, on
 * the thread that made the failed call, before it makes another whefs call:
 * then whefs_errmsg() is that call's message. */
static void whefs_py_raise(int rc)
{
    const char *msg = whefs_errmsg();
    PyObject *text = PyUnicode_DecodeUTF8(msg, (Py_ssize_t)strlen(msg), "replace");
    PyObject *errors = NULL;
    PyObject *exc = NULL;

    if (text != NULL)
        errors = PyImport_ImportModule("whefs._errors");
    if (errors != NULL)
        exc = PyObject_CallMethod(errors, "error_for", "iO", rc, text);
    if (exc != NULL)
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_XDECREF(exc);
    Py_XDECREF(errors);
    Py_XDECREF(text);
}

/* Adds one more return value: the first replaces None, more make a tuple. */
static PyObject *whefs_py_append(PyObject *result, PyObject *obj)
{
    PyObject *pair;

    if (obj == NULL) {
        Py_XDECREF(result);
        return NULL;
    }
    if (result == NULL || result == Py_None) {
        Py_XDECREF(result);
        return obj;
    }
    if (PyTuple_Check(result)) {
        pair = PyTuple_Pack(1, obj);
        Py_DECREF(obj);
        if (pair == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        obj = PySequence_Concat(result, pair);
        Py_DECREF(pair);
        Py_DECREF(result);
        return obj;
    }
    pair = PyTuple_Pack(2, result, obj);
    Py_DECREF(result);
    Py_DECREF(obj);
    return pair;
}

/* A path or mode string: str (encoded as UTF-8) or bytes, without NUL
 * bytes (C would silently cut the string there). The pointer borrows from
 * `obj`, which the caller's argument tuple keeps alive during the call. */
static int whefs_py_cstring(PyObject *obj, const char **out, const char *what)
{
    const char *s = NULL;
    Py_ssize_t n = 0;

    if (PyUnicode_Check(obj)) {
        s = PyUnicode_AsUTF8AndSize(obj, &n);
        if (s == NULL)
            return 0;
    } else if (PyBytes_Check(obj)) {
        s = PyBytes_AS_STRING(obj);
        n = PyBytes_GET_SIZE(obj);
    } else {
        PyErr_Format(PyExc_TypeError, "%s: expected str or bytes, not %.100s",
                     what, Py_TYPE(obj)->tp_name);
        return 0;
    }
    if ((size_t)n != strlen(s)) {
        PyErr_Format(PyExc_ValueError, "%s: embedded null character", what);
        return 0;
    }
    *out = s;
    return 1;
}
%}

/* ---- status codes: WHEFS_OK is no value, anything else an exception ---- */
%typemap(out) int {
    if ($1 != WHEFS_OK) {
        whefs_py_raise($1);
        SWIG_fail;
    }
    $result = SWIG_Py_Void();
}

/* ---- strings in ---------------------------------------------------------- */
%typemap(in) const char * (const char *text = NULL) {
    if (!whefs_py_cstring($input, &text, "$1_name"))
        SWIG_fail;
    $1 = ($1_ltype)text;
}
/* A label may be absent. */
%typemap(in) const char *label (const char *text = NULL) {
    if ($input != Py_None && !whefs_py_cstring($input, &text, "label"))
        SWIG_fail;
    $1 = ($1_ltype)text;
}
/* Borrowed from the argument: nothing to free. */
%typemap(freearg) const char *, const char *label ""

/* ---- bytes in: any buffer (bytes, bytearray, memoryview, ...), held for
 * the whole call — the GIL is released meanwhile, and a held buffer cannot
 * be resized or freed under the library. str is refused (TypeError).
 * whefs_fs_open_image() borrows its data beyond the call: its caller keeps
 * the object alive and unchanged while the handle lives (whefs.open_image
 * keeps an immutable bytes object with the Fs). ---- */
%typemap(in) (const void *buf, size_t len) (Py_buffer view, int have_view = 0),
             (const void *data, size_t len) (Py_buffer view, int have_view = 0) {
    if (PyObject_GetBuffer($input, &view, PyBUF_SIMPLE) != 0)
        SWIG_fail;
    have_view = 1;
    $1 = view.buf;
    $2 = (size_t)view.len;
}
%typemap(freearg) (const void *buf, size_t len), (const void *data, size_t len) {
    if (have_view$argnum)
        PyBuffer_Release(&view$argnum);
}

/* ---- bytes out, in place: a writable buffer (bytearray, memoryview, ...),
 * held for the call; the call returns the count (readinto semantics). The
 * *_bytes helpers below return new bytes objects instead. ---- */
%typemap(in) (void *buf, size_t len) (Py_buffer view, int have_view = 0) {
    if (PyObject_GetBuffer($input, &view, PyBUF_WRITABLE) != 0)
        SWIG_fail;
    have_view = 1;
    $1 = view.buf;
    $2 = (size_t)view.len;
}
%typemap(freearg) (void *buf, size_t len) {
    if (have_view$argnum)
        PyBuffer_Release(&view$argnum);
}

/* ---- out-parameters become return values --------------------------------- */
%typemap(in, numinputs=0) size_t *nread (size_t temp = 0), size_t *nwritten (size_t temp = 0) {
    $1 = &temp;
}
%typemap(argout) size_t *nread, size_t *nwritten {
    $result = whefs_py_append($result, PyLong_FromSize_t(*$1));
    if ($result == NULL) SWIG_fail;
}

%typemap(in, numinputs=0) uint64_t *pos (uint64_t temp = 0), uint64_t *size (uint64_t temp = 0),
                          uint64_t *newpos (uint64_t temp = 0), uint64_t *copied (uint64_t temp = 0),
                          uint64_t *pages_freed (uint64_t temp = 0) {
    $1 = &temp;
}
%typemap(argout) uint64_t *pos, uint64_t *size, uint64_t *newpos, uint64_t *copied,
                 uint64_t *pages_freed {
    $result = whefs_py_append($result, PyLong_FromUnsignedLongLong(*$1));
    if ($result == NULL) SWIG_fail;
}

%typemap(in, numinputs=0) int *exists (int temp = 0) {
    $1 = &temp;
}
%typemap(argout) int *exists {
    $result = whefs_py_append($result, PyBool_FromLong(*$1));
    if ($result == NULL) SWIG_fail;
}

/* Handles: opaque pointer objects, not owned — the caller closes them with
 * whefs_*_close (the idiomatic layer does, exactly once). */
%define WHEFS_HANDLE_OUT(TYPE)
%typemap(in, numinputs=0) struct TYPE **out (struct TYPE *temp = NULL) {
    $1 = &temp;
}
%typemap(argout) struct TYPE **out {
    $result = whefs_py_append($result, SWIG_NewPointerObj(*$1, $*1_descriptor, 0));
    if ($result == NULL) SWIG_fail;
}
%enddef
WHEFS_HANDLE_OUT(whefs_fs)
WHEFS_HANDLE_OUT(whefs_file)
WHEFS_HANDLE_OUT(whefs_dir)
/* whefs_txn_begin: the transaction. whefs_txn_commit and whefs_txn_abort
 * free it: the idiomatic layer calls exactly one of them, once. */
WHEFS_HANDLE_OUT(whefs_txn)
WHEFS_HANDLE_OUT(whefs_snapshot_list)

/* Result structs: a new, owned copy (freed with the Python object). */
%define WHEFS_STRUCT_OUT(TYPE)
%typemap(in, numinputs=0) struct TYPE *out (struct TYPE temp) {
    memset(&temp, 0, sizeof temp);
    $1 = &temp;
}
%typemap(argout) struct TYPE *out {
    struct TYPE *copy = (struct TYPE *)malloc(sizeof *copy);
    if (copy == NULL) {
        PyErr_NoMemory();
        SWIG_fail;
    }
    *copy = *$1;
    $result = whefs_py_append($result, SWIG_NewPointerObj(copy, $1_descriptor, SWIG_POINTER_OWN));
    if ($result == NULL) SWIG_fail;
}
%enddef
WHEFS_STRUCT_OUT(whefs_stat_t)
WHEFS_STRUCT_OUT(whefs_statx_t)
WHEFS_STRUCT_OUT(whefs_info)
WHEFS_STRUCT_OUT(whefs_info_v2)
WHEFS_STRUCT_OUT(whefs_compact_report)

/* A snapshot's description: a tuple (name, generation, created_ns, files,
 * dirs, exclusive_pages), the name copied at once (it lives only until the
 * next call on the listing, or is the caller's own argument). */
%{
static PyObject *whefs_py_snapshot_tuple(const whefs_snapshot_info *si)
{
    return Py_BuildValue("(sKLKKK)", si->name, (unsigned long long)si->generation,
                         (long long)si->created_ns, (unsigned long long)si->files,
                         (unsigned long long)si->dirs, (unsigned long long)si->exclusive_pages);
}
%}
%typemap(in, numinputs=0) struct whefs_snapshot_info *out (struct whefs_snapshot_info temp) {
    memset(&temp, 0, sizeof temp);
    $1 = &temp;
}
%typemap(argout) struct whefs_snapshot_info *out {
    $result = whefs_py_append($result, whefs_py_snapshot_tuple($1));
    if ($result == NULL) SWIG_fail;
}
/* whefs_snapshot_list_next: the tuple above, or None at the end. */
%typemap(in, numinputs=0) (struct whefs_snapshot_info *out, int *has_entry) (struct whefs_snapshot_info entry, int has = 0) {
    memset(&entry, 0, sizeof entry);
    $1 = &entry;
    $2 = &has;
}
%typemap(argout) (struct whefs_snapshot_info *out, int *has_entry) {
    $result = whefs_py_append($result, *$2 ? whefs_py_snapshot_tuple($1) : SWIG_Py_Void());
    if ($result == NULL) SWIG_fail;
}

/* whefs_dir_next: a tuple (name, kind, ino, size), or None at the end. The
 * name is copied at once (it is valid only until the next call). */
%typemap(in, numinputs=0) (struct whefs_dirent *out, int *has_entry) (struct whefs_dirent entry, int has = 0) {
    memset(&entry, 0, sizeof entry);
    $1 = &entry;
    $2 = &has;
}
%typemap(argout) (struct whefs_dirent *out, int *has_entry) {
    PyObject *item;
    if (*$2) {
        item = Py_BuildValue("(sIKK)", $1->name, (unsigned int)$1->kind,
                             (unsigned long long)$1->ino, (unsigned long long)$1->size);
    } else {
        item = SWIG_Py_Void();
    }
    $result = whefs_py_append($result, item);
    if ($result == NULL) SWIG_fail;
}

/* Replaced below by helpers that return bytes / str / list. */
%ignore whefs_read_file;
%ignore whefs_fs_label_get;
%ignore whefs_ls;
%ignore whefs_readlink;
%ignore whefs_diff;
%ignore whefs_fs_backup;
/* Tuples here (above and below); no classes for them. */
%ignore whefs_snapshot_info;
%ignore whefs_backup_report;

#endif /* SWIGPYTHON */
/* ======================================================================== */

/* ======================================================================== */
#ifdef SWIGPHP

/* PHP build: swig -php7 -Wall -Werror -I include bindings/swig/whefs.i
 * (SWIG 4.1 generates PHP 8 code with -php7), then compile whefs_wrap.c
 * into whefs.so with $(php-config --includes) and libwhefs.a.
 *
 * A failed call throws a plain \Exception whose code is the WHEFS_ERR_*
 * value and whose message is whefs_errmsg(); the PHP layer
 * (bindings/php/src/Whefs.php) turns it into a Whefs\Exception subclass.
 * Pointers come back as SWIG wrapper objects that own nothing: the PHP
 * layer closes them, once. stat, info and directory entries come back as
 * arrays. PHP runs one request per thread, so no status lives here
 * either. */

%{
#include "zend_exceptions.h"

/* Throws for status `rc`. `code` is a plain int on purpose: SWIG's
 * SWIG_exception(code, msg) for PHP does not parenthesize `code`, and an
 * expression there once crashed inside zend_throw_exception. Call right
 * after the failed call, before another whefs call: then whefs_errmsg() is
 * that call's message. */
static void whefs_php_throw(int rc)
{
    int code = rc;
    zend_throw_exception(zend_ce_exception, whefs_errmsg(), (zend_long)code);
}

/* A PHP string as a NUL-terminated C string for a path, mode or label.
 * Only a string (TypeError otherwise: converting here would leak the
 * converted copy), and without NUL bytes, which C would silently cut
 * there: ValueError, like PHP's own filesystem functions. The pointer
 * borrows from the caller's argument, alive during the call. */
static int whefs_php_cstring(zval *value, uint32_t argnum, const char **out)
{
    if (Z_TYPE_P(value) != IS_STRING) {
        zend_argument_type_error(argnum, "must be of type string, %s given", zend_zval_type_name(value));
        return 0;
    }
    if (strlen(Z_STRVAL_P(value)) != Z_STRLEN_P(value)) {
        zend_argument_value_error(argnum, "must not contain any null bytes");
        return 0;
    }
    *out = Z_STRVAL_P(value);
    return 1;
}

static void whefs_php_stat_array(zval *arr, const whefs_stat_t *st)
{
    array_init(arr);
    add_assoc_long(arr, "kind", (zend_long)st->kind);
    add_assoc_long(arr, "mode", (zend_long)st->mode);
    add_assoc_long(arr, "ino", (zend_long)st->ino);
    add_assoc_long(arr, "size", (zend_long)st->size);
    add_assoc_long(arr, "mtime_ns", (zend_long)st->mtime_ns);
    add_assoc_long(arr, "ctime_ns", (zend_long)st->ctime_ns);
}

static void whefs_php_info_array(zval *arr, const whefs_info *info)
{
    array_init(arr);
    add_assoc_long(arr, "page_size", (zend_long)info->page_size);
    add_assoc_long(arr, "generation", (zend_long)info->generation);
    add_assoc_long(arr, "pages_total", (zend_long)info->pages_total);
    add_assoc_long(arr, "pages_used", (zend_long)info->pages_used);
    add_assoc_long(arr, "pages_free", (zend_long)info->pages_free);
    add_assoc_long(arr, "pages_pending", (zend_long)info->pages_pending);
    add_assoc_long(arr, "files", (zend_long)info->files);
    add_assoc_long(arr, "dirs", (zend_long)info->dirs);
}

static void whefs_php_info_v2_array(zval *arr, const whefs_info_v2 *info)
{
    array_init(arr);
    add_assoc_long(arr, "page_size", (zend_long)info->page_size);
    add_assoc_long(arr, "generation", (zend_long)info->generation);
    add_assoc_long(arr, "pages_total", (zend_long)info->pages_total);
    add_assoc_long(arr, "pages_used", (zend_long)info->pages_used);
    add_assoc_long(arr, "pages_free", (zend_long)info->pages_free);
    add_assoc_long(arr, "pages_pending", (zend_long)info->pages_pending);
    add_assoc_long(arr, "files", (zend_long)info->files);
    add_assoc_long(arr, "dirs", (zend_long)info->dirs);
    add_assoc_long(arr, "snapshots", (zend_long)info->snapshots);
    add_assoc_long(arr, "pages_snapshot", (zend_long)info->pages_snapshot);
    add_assoc_long(arr, "pages_reclaimable", (zend_long)info->pages_reclaimable);
}

/* A snapshot as ['name' => ..., 'generation' => ..., 'created_ns' => ...,
 * 'files' => ..., 'dirs' => ..., 'exclusive_pages' => ...]; the name is
 * copied at once. */
static void whefs_php_snapshot_array(zval *arr, const whefs_snapshot_info *si)
{
    array_init(arr);
    add_assoc_string(arr, "name", si->name);
    add_assoc_long(arr, "generation", (zend_long)si->generation);
    add_assoc_long(arr, "created_ns", (zend_long)si->created_ns);
    add_assoc_long(arr, "files", (zend_long)si->files);
    add_assoc_long(arr, "dirs", (zend_long)si->dirs);
    add_assoc_long(arr, "exclusive_pages", (zend_long)si->exclusive_pages);
}

/* One entry as ['name' => ..., 'kind' => ..., 'ino' => ..., 'size' => ...],
 * plus 'path' for a whefs_ls() match. */
static void whefs_php_entry_array(zval *arr, const char *path, const char *name,
                                  uint32_t kind, uint64_t ino, uint64_t size)
{
    array_init(arr);
    if (path != NULL)
        add_assoc_string(arr, "path", path);
    add_assoc_string(arr, "name", name);
    add_assoc_long(arr, "kind", (zend_long)kind);
    add_assoc_long(arr, "ino", (zend_long)ino);
    add_assoc_long(arr, "size", (zend_long)size);
}
%}

/* ---- status codes: WHEFS_OK is null (or the out-parameter's value),
 * anything else an exception ---- */
%typemap(out) int {
    if ($1 != WHEFS_OK) {
        whefs_php_throw($1);
        SWIG_fail;
    }
    RETVAL_NULL();
}

/* ---- strings in: paths and modes; a label may be null ---- */
%typemap(in, phptype="string") const char * {
    if (!whefs_php_cstring(&$input, $argnum, (const char **)&$1))
        SWIG_fail;
}
%typemap(in, phptype="?string") const char *label {
    if (Z_ISNULL($input))
        $1 = NULL;
    else if (!whefs_php_cstring(&$input, $argnum, (const char **)&$1))
        SWIG_fail;
}

/* ---- bytes in: a PHP string, NUL bytes included. whefs_fs_open_image()
 * borrows its data beyond the call: the caller keeps the very string (PHP
 * strings do not move) while the handle lives — Whefs\Fs::openImage keeps
 * it in the Fs. ---- */
%typemap(in, phptype="string") (const void *buf, size_t len), (const void *data, size_t len) {
    if (Z_TYPE($input) != IS_STRING) {
        zend_argument_type_error($argnum, "must be of type string, %s given", zend_zval_type_name(&$input));
        SWIG_fail;
    }
    $1 = Z_STRVAL($input);
    $2 = Z_STRLEN($input);
}

/* ---- out-parameters become the return value ------------------------------ */
%typemap(in, numinputs=0) size_t *nwritten (size_t temp = 0) {
    $1 = &temp;
}
%typemap(argout) size_t *nwritten {
    RETVAL_LONG((zend_long)*$1);
}

%typemap(in, numinputs=0) uint64_t *pos (uint64_t temp = 0), uint64_t *size (uint64_t temp = 0),
                          uint64_t *newpos (uint64_t temp = 0), uint64_t *copied (uint64_t temp = 0),
                          uint64_t *pages_freed (uint64_t temp = 0) {
    $1 = &temp;
}
%typemap(argout) uint64_t *pos, uint64_t *size, uint64_t *newpos, uint64_t *copied,
                 uint64_t *pages_freed {
    RETVAL_LONG((zend_long)*$1);
}

%typemap(in, numinputs=0) int *exists (int temp = 0) {
    $1 = &temp;
}
%typemap(argout) int *exists {
    RETVAL_BOOL(*$1);
}

/* Handles: SWIG wrapper objects that do not own the pointer — the caller
 * closes it with whefs_*_close (the PHP layer does, exactly once). */
%define WHEFS_PHP_HANDLE_OUT(TYPE)
%typemap(in, numinputs=0) struct TYPE **out (struct TYPE *temp = NULL) {
    $1 = &temp;
}
%typemap(argout) struct TYPE **out {
    SWIG_SetPointerZval($result, (void *)*$1, $*1_descriptor, 0);
}
%enddef
WHEFS_PHP_HANDLE_OUT(whefs_fs)
WHEFS_PHP_HANDLE_OUT(whefs_file)
WHEFS_PHP_HANDLE_OUT(whefs_dir)
/* whefs_txn_begin: the transaction. whefs_txn_commit and whefs_txn_abort
 * free it: the PHP layer calls exactly one of them, once. */
WHEFS_PHP_HANDLE_OUT(whefs_txn)
WHEFS_PHP_HANDLE_OUT(whefs_snapshot_list)

/* Result structs: arrays. */
%typemap(in, numinputs=0) struct whefs_stat_t *out (struct whefs_stat_t temp) {
    memset(&temp, 0, sizeof temp);
    $1 = &temp;
}
%typemap(argout) struct whefs_stat_t *out {
    whefs_php_stat_array($result, $1);
}
%typemap(in, numinputs=0) struct whefs_info *out (struct whefs_info temp) {
    memset(&temp, 0, sizeof temp);
    $1 = &temp;
}
%typemap(argout) struct whefs_info *out {
    whefs_php_info_array($result, $1);
}
%typemap(in, numinputs=0) struct whefs_info_v2 *out (struct whefs_info_v2 temp) {
    memset(&temp, 0, sizeof temp);
    $1 = &temp;
}
%typemap(argout) struct whefs_info_v2 *out {
    whefs_php_info_v2_array($result, $1);
}
%typemap(in, numinputs=0) struct whefs_snapshot_info *out (struct whefs_snapshot_info temp) {
    memset(&temp, 0, sizeof temp);
    $1 = &temp;
}
%typemap(argout) struct whefs_snapshot_info *out {
    whefs_php_snapshot_array($result, $1);
}
%typemap(in, numinputs=0) struct whefs_compact_report *out (struct whefs_compact_report temp) {
    memset(&temp, 0, sizeof temp);
    $1 = &temp;
}
%typemap(argout) struct whefs_compact_report *out {
    array_init($result);
    add_assoc_long($result, "pages_before", (zend_long)$1->pages_before);
    add_assoc_long($result, "pages_after", (zend_long)$1->pages_after);
    add_assoc_long($result, "data_pages_moved", (zend_long)$1->data_pages_moved);
    add_assoc_long($result, "commits", (zend_long)$1->commits);
}
/* whefs_fs_backup's progress argument: null or a callable, checked by the helper. */
%typemap(in, phptype="?callable") zval *progress {
    $1 = &$input;
}
/* whefs_snapshot_list_next: a snapshot array, or null at the end. */
%typemap(in, numinputs=0) (struct whefs_snapshot_info *out, int *has_entry) (struct whefs_snapshot_info entry, int has = 0) {
    memset(&entry, 0, sizeof entry);
    $1 = &entry;
    $2 = &has;
}
%typemap(argout) (struct whefs_snapshot_info *out, int *has_entry) {
    if (*$2)
        whefs_php_snapshot_array($result, $1);
    else
        RETVAL_NULL();
}
%typemap(in, numinputs=0) struct whefs_statx_t *out (struct whefs_statx_t temp) {
    memset(&temp, 0, sizeof temp);
    $1 = &temp;
}
%typemap(argout) struct whefs_statx_t *out {
    array_init($result);
    add_assoc_long($result, "kind", (zend_long)$1->kind);
    add_assoc_long($result, "mode", (zend_long)$1->mode);
    add_assoc_long($result, "ino", (zend_long)$1->ino);
    add_assoc_long($result, "size", (zend_long)$1->size);
    add_assoc_long($result, "atime_ns", (zend_long)$1->atime_ns);
    add_assoc_long($result, "mtime_ns", (zend_long)$1->mtime_ns);
    add_assoc_long($result, "ctime_ns", (zend_long)$1->ctime_ns);
    add_assoc_long($result, "nlink", (zend_long)$1->nlink);
    add_assoc_long($result, "uid", (zend_long)$1->uid);
    add_assoc_long($result, "gid", (zend_long)$1->gid);
}

/* whefs_dir_next: an entry array, or null at the end. The name is copied
 * at once (it is valid only until the next call). */
%typemap(in, numinputs=0) (struct whefs_dirent *out, int *has_entry) (struct whefs_dirent entry, int has = 0) {
    memset(&entry, 0, sizeof entry);
    $1 = &entry;
    $2 = &has;
}
%typemap(argout) (struct whefs_dirent *out, int *has_entry) {
    if (*$2)
        whefs_php_entry_array($result, NULL, $1->name, $1->kind, $1->ino, $1->size);
    else
        RETVAL_NULL();
}

/* The helpers below return a new string or array, or NULL after throwing. */
%typemap(out, phptype="string") zend_string * {
    if ($1 == NULL)
        SWIG_fail;
    RETVAL_STR($1);
}
%typemap(out, phptype="array") zend_array * {
    if ($1 == NULL)
        SWIG_fail;
    RETVAL_ARR($1);
}

/* Replaced below by helpers that return strings / arrays: PHP has no
 * writable byte buffers to read into, nor C callbacks. */
%ignore whefs_read_file;
%ignore whefs_fs_label_get;
%ignore whefs_ls;
%ignore whefs_file_read;
%ignore whefs_file_pread;
%ignore whefs_readlink;
%ignore whefs_diff;
%ignore whefs_fs_backup;
/* The result structs are arrays here; no classes for them. */
%ignore whefs_stat_t;
%ignore whefs_statx_t;
%ignore whefs_info;
%ignore whefs_info_v2;
%ignore whefs_dirent;
%ignore whefs_snapshot_info;
%ignore whefs_backup_report;
%ignore whefs_compact_report;

#endif /* SWIGPHP */
/* ======================================================================== */

/* The result structs are read-only values. */
%immutable;
%include "whefs.h"
%mutable;

/* Test builds only (swig -DWHEFS_TEST_HOOKS, library built with the cargo
 * feature `test-hooks`): an entry point that panics inside the library, so
 * the tests can show a panic becomes an exception, not a crash. The
 * installed header does not declare it. */
#ifdef WHEFS_TEST_HOOKS
%{
int whefs_test_panic(void);
%}
int whefs_test_panic(void);
#endif

/* ======================================================================== */
#ifdef SWIGPYTHON

/* The helpers make Python objects, so they keep the GIL and release it
 * themselves around each library call. */
%nothread whefs_py_read_file;
%nothread whefs_py_fs_label_get;
%nothread whefs_py_file_read_bytes;
%nothread whefs_py_file_pread_bytes;
%nothread whefs_py_ls;

%rename(whefs_read_file) whefs_py_read_file;
%rename(whefs_fs_label_get) whefs_py_fs_label_get;
%rename(whefs_file_read_bytes) whefs_py_file_read_bytes;
%rename(whefs_file_pread_bytes) whefs_py_file_pread_bytes;
%rename(whefs_ls) whefs_py_ls;
%rename(whefs_readlink) whefs_py_readlink;
%nothread whefs_py_readlink;
%rename(whefs_diff) whefs_py_diff;
%nothread whefs_py_diff;
%rename(whefs_fs_backup) whefs_py_fs_backup;
%nothread whefs_py_fs_backup;

%feature("docstring") whefs_py_readlink
"whefs_readlink(fs, path) -> str: the target of the symbolic link at path.";
%feature("docstring") whefs_py_read_file
"whefs_read_file(fs, path) -> bytes: the whole pseudofile, in one read of one commit.";
%feature("docstring") whefs_py_fs_label_get
"whefs_fs_label_get(fs) -> str: the container's label (\"\" if none).";
%feature("docstring") whefs_py_file_read_bytes
"whefs_file_read_bytes(f, size) -> bytes: up to size bytes at the position (b\"\" at the end).";
%feature("docstring") whefs_py_file_pread_bytes
"whefs_file_pread_bytes(f, size, offset) -> bytes: up to size bytes at offset; the position stays.";
%feature("docstring") whefs_py_ls
"whefs_ls(fs, pattern) -> list of (path, kind, ino, size) for every glob match, depth first, in name order within a directory.";
%feature("docstring") whefs_py_fs_backup
"whefs_fs_backup(fs, dest, progress) -> (generation, pages, bytes, files, dirs): copies the state fs reads into a new container at dest; progress is None or called as progress(done_pages, total_pages).";
%feature("docstring") whefs_py_diff
"whefs_diff(older, newer) -> list of (kind, path): WHEFS_CHANGE_* and the absolute path of every difference, sorted by path.";

%{
static PyObject *whefs_py_read_common(whefs_file *f, size_t size, int positional, uint64_t offset)
{
    size_t got = 0;
    PyObject *data;
    int rc;

    if (size > (size_t)PY_SSIZE_T_MAX)
        return PyErr_NoMemory();
    data = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
    if (data == NULL)
        return NULL;
    /* `data` is not shared yet, so the library may fill it without the GIL. */
    Py_BEGIN_ALLOW_THREADS
    if (positional)
        rc = whefs_file_pread(f, size ? PyBytes_AS_STRING(data) : NULL, size, offset, &got);
    else
        rc = whefs_file_read(f, size ? PyBytes_AS_STRING(data) : NULL, size, &got);
    Py_END_ALLOW_THREADS
    if (rc != WHEFS_OK) {
        Py_DECREF(data);
        whefs_py_raise(rc);
        return NULL;
    }
    if (got != size && _PyBytes_Resize(&data, (Py_ssize_t)got) != 0)
        return NULL;
    return data;
}

/* Glob matches, gathered in C without the GIL, then made into a list. */
struct whefs_py_match {
    char *path;
    uint32_t kind;
    uint64_t ino;
    uint64_t size;
};
struct whefs_py_matches {
    struct whefs_py_match *items;
    size_t count;
    size_t cap;
    int out_of_memory;
};

static int whefs_py_ls_collect(const char *path, const whefs_dirent *entry, void *userdata)
{
    struct whefs_py_matches *m = (struct whefs_py_matches *)userdata;
    struct whefs_py_match *item;

    if (m->count == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        struct whefs_py_match *grown =
            (struct whefs_py_match *)realloc(m->items, cap * sizeof *grown);
        if (grown == NULL) {
            m->out_of_memory = 1;
            return 1; /* stop */
        }
        m->items = grown;
        m->cap = cap;
    }
    item = &m->items[m->count];
    item->path = strdup(path);
    if (item->path == NULL) {
        m->out_of_memory = 1;
        return 1;
    }
    item->kind = entry->kind;
    item->ino = entry->ino;
    item->size = entry->size;
    m->count++;
    return 0;
}

/* whefs_fs_backup's progress: calls the Python callable with the GIL
 * taken again (the backup runs without it). The first exception it raises
 * is kept, ends the calls, and is raised when the backup returns: the
 * library cannot stop a backup half-way. */
struct whefs_py_progress {
    PyObject *callable;
    PyObject *exc_type, *exc_value, *exc_tb;
    int failed;
};

static void whefs_py_progress_cb(uint64_t done, uint64_t total, void *userdata)
{
    struct whefs_py_progress *p = (struct whefs_py_progress *)userdata;
    PyGILState_STATE gil;
    PyObject *result;

    if (p->failed)
        return;
    gil = PyGILState_Ensure();
    result = PyObject_CallFunction(p->callable, "KK", (unsigned long long)done,
                                   (unsigned long long)total);
    if (result == NULL) {
        p->failed = 1;
        PyErr_Fetch(&p->exc_type, &p->exc_value, &p->exc_tb);
    }
    Py_XDECREF(result);
    PyGILState_Release(gil);
}

/* whefs_diff's changes, gathered the same way (kind in `kind`, no entry). */
static int whefs_py_diff_collect(uint32_t kind, const char *path, void *userdata)
{
    whefs_dirent entry;
    memset(&entry, 0, sizeof entry);
    entry.kind = kind;
    return whefs_py_ls_collect(path, &entry, userdata);
}
%}

%inline %{
/* The whole file. The size is asked first (WHEFS_ERR_RANGE tells it); if
 * the file grows between the two calls, ask again. */
static PyObject *whefs_py_read_file(whefs_fs *fs, const char *path)
{
    size_t need = 0;
    size_t got = 0;
    PyObject *data;
    int rc;

    Py_BEGIN_ALLOW_THREADS
    rc = whefs_read_file(fs, path, NULL, 0, &need);
    Py_END_ALLOW_THREADS
    if (rc == WHEFS_OK)
        return PyBytes_FromStringAndSize(NULL, 0);
    for (;;) {
        if (rc != WHEFS_ERR_RANGE) {
            whefs_py_raise(rc);
            return NULL;
        }
        if (need > (size_t)PY_SSIZE_T_MAX)
            return PyErr_NoMemory();
        data = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)need);
        if (data == NULL)
            return NULL;
        Py_BEGIN_ALLOW_THREADS
        rc = whefs_read_file(fs, path, need ? PyBytes_AS_STRING(data) : NULL, need, &got);
        Py_END_ALLOW_THREADS
        if (rc == WHEFS_OK) {
            if (got != need && _PyBytes_Resize(&data, (Py_ssize_t)got) != 0)
                return NULL;
            return data;
        }
        Py_DECREF(data);
        need = got; /* the size needed now, when rc is WHEFS_ERR_RANGE */
    }
}

/* The target of a symbolic link: its length first (WHEFS_ERR_RANGE tells
 * it), then the bytes; a link replaced in between is asked again. */
static PyObject *whefs_py_readlink(whefs_fs *fs, const char *path)
{
    size_t len = 0;
    char *buf;
    PyObject *target;
    int rc;

    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        rc = whefs_readlink(fs, path, NULL, 0, &len);
        Py_END_ALLOW_THREADS
        if (rc != WHEFS_ERR_RANGE) {
            whefs_py_raise(rc);
            return NULL;
        }
        buf = (char *)PyMem_Malloc(len + 1);
        if (buf == NULL)
            return PyErr_NoMemory();
        Py_BEGIN_ALLOW_THREADS
        rc = whefs_readlink(fs, path, buf, len + 1, &len);
        Py_END_ALLOW_THREADS
        if (rc == WHEFS_OK)
            break;
        PyMem_Free(buf);
        if (rc != WHEFS_ERR_RANGE) {
            whefs_py_raise(rc);
            return NULL;
        }
    }
    target = PyUnicode_DecodeUTF8(buf, (Py_ssize_t)len, "strict");
    PyMem_Free(buf);
    return target;
}

static PyObject *whefs_py_fs_label_get(whefs_fs *fs)
{
    size_t len = 0;
    char *buf;
    PyObject *label;
    int rc;

    rc = whefs_fs_label_get(fs, NULL, 0, &len);
    if (rc != WHEFS_ERR_RANGE) {
        if (rc == WHEFS_OK)
            return PyUnicode_FromString("");
        whefs_py_raise(rc);
        return NULL;
    }
    buf = (char *)PyMem_Malloc(len + 1);
    if (buf == NULL)
        return PyErr_NoMemory();
    rc = whefs_fs_label_get(fs, buf, len + 1, &len);
    if (rc != WHEFS_OK) {
        PyMem_Free(buf);
        whefs_py_raise(rc);
        return NULL;
    }
    label = PyUnicode_DecodeUTF8(buf, (Py_ssize_t)len, "replace");
    PyMem_Free(buf);
    return label;
}

static PyObject *whefs_py_file_read_bytes(whefs_file *f, size_t size)
{
    return whefs_py_read_common(f, size, 0, 0);
}

static PyObject *whefs_py_file_pread_bytes(whefs_file *f, size_t size, uint64_t offset)
{
    return whefs_py_read_common(f, size, 1, offset);
}

static PyObject *whefs_py_ls(whefs_fs *fs, const char *pattern)
{
    struct whefs_py_matches m = {NULL, 0, 0, 0};
    PyObject *list = NULL;
    size_t i;
    int rc;

    Py_BEGIN_ALLOW_THREADS
    rc = whefs_ls(fs, pattern, whefs_py_ls_collect, &m);
    Py_END_ALLOW_THREADS
    if (rc != WHEFS_OK)
        whefs_py_raise(rc);
    else if (m.out_of_memory)
        PyErr_NoMemory();
    else
        list = PyList_New((Py_ssize_t)m.count);
    for (i = 0; i < m.count; i++) {
        if (list != NULL) {
            PyObject *item = Py_BuildValue("(sIKK)", m.items[i].path, (unsigned int)m.items[i].kind,
                                           (unsigned long long)m.items[i].ino,
                                           (unsigned long long)m.items[i].size);
            if (item == NULL)
                Py_CLEAR(list);
            else
                PyList_SET_ITEM(list, (Py_ssize_t)i, item);
        }
        free(m.items[i].path);
    }
    free(m.items);
    return list;
}

static PyObject *whefs_py_fs_backup(whefs_fs *fs, const char *dest, PyObject *progress)
{
    struct whefs_py_progress p = {NULL, NULL, NULL, NULL, 0};
    whefs_backup_report report;
    int rc;

    if (progress != Py_None && !PyCallable_Check(progress)) {
        PyErr_Format(PyExc_TypeError, "progress must be callable or None, not %.100s",
                     Py_TYPE(progress)->tp_name);
        return NULL;
    }
    p.callable = progress == Py_None ? NULL : progress; /* borrowed from the arguments */
    memset(&report, 0, sizeof report);
    Py_BEGIN_ALLOW_THREADS
    rc = whefs_fs_backup(fs, dest, p.callable != NULL ? whefs_py_progress_cb : NULL, &p, &report);
    Py_END_ALLOW_THREADS
    if (p.failed) {
        PyErr_Restore(p.exc_type, p.exc_value, p.exc_tb);
        return NULL;
    }
    if (rc != WHEFS_OK) {
        whefs_py_raise(rc);
        return NULL;
    }
    return Py_BuildValue("(KKKKK)", (unsigned long long)report.generation,
                         (unsigned long long)report.pages, (unsigned long long)report.bytes,
                         (unsigned long long)report.files, (unsigned long long)report.dirs);
}

static PyObject *whefs_py_diff(whefs_fs *older, whefs_fs *newer)
{
    struct whefs_py_matches m = {NULL, 0, 0, 0};
    PyObject *list = NULL;
    size_t i;
    int rc;

    Py_BEGIN_ALLOW_THREADS
    rc = whefs_diff(older, newer, whefs_py_diff_collect, &m);
    Py_END_ALLOW_THREADS
    if (rc != WHEFS_OK)
        whefs_py_raise(rc);
    else if (m.out_of_memory)
        PyErr_NoMemory();
    else
        list = PyList_New((Py_ssize_t)m.count);
    for (i = 0; i < m.count; i++) {
        if (list != NULL) {
            PyObject *item = Py_BuildValue("(Is)", (unsigned int)m.items[i].kind, m.items[i].path);
            if (item == NULL)
                Py_CLEAR(list);
            else
                PyList_SET_ITEM(list, (Py_ssize_t)i, item);
        }
        free(m.items[i].path);
    }
    free(m.items);
    return list;
}
%}

#endif /* SWIGPYTHON */
/* ======================================================================== */

/* ======================================================================== */
#ifdef SWIGPHP

%rename(whefs_read_file) whefs_php_read_file;
%rename(whefs_fs_label_get) whefs_php_fs_label_get;
%rename(whefs_file_read_bytes) whefs_php_file_read_bytes;
%rename(whefs_file_pread_bytes) whefs_php_file_pread_bytes;
%rename(whefs_ls) whefs_php_ls;
%rename(whefs_readlink) whefs_php_readlink;
%rename(whefs_diff) whefs_php_diff;
%rename(whefs_fs_backup) whefs_php_fs_backup;

%{
/* Up to `size` bytes at the position (or at `offset`), as a new string;
 * NULL after throwing. The string is allocated before the library is
 * entered: a PHP memory-limit error longjmps, which must never cross the
 * library's frames. */
static zend_string *whefs_php_read_common(whefs_file *f, size_t size, int positional, uint64_t offset)
{
    zend_string *data;
    size_t got = 0;
    int rc;

    /* A large request is cut to what the file holds, so that read(1 GiB)
     * of a small file does not allocate 1 GiB first. */
    if (size > 65536) {
        uint64_t end = 0, at = offset;
        rc = whefs_file_size(f, &end);
        if (rc == WHEFS_OK && !positional)
            rc = whefs_file_tell(f, &at);
        if (rc != WHEFS_OK) {
            whefs_php_throw(rc);
            return NULL;
        }
        if (at >= end)
            size = 0;
        else if (end - at < (uint64_t)size)
            size = (size_t)(end - at);
    }
    if (size > ZSTR_MAX_LEN) {
        zend_throw_exception(zend_ce_value_error, "size is too large", 0);
        return NULL;
    }
    data = zend_string_alloc(size, 0);
    if (positional)
        rc = whefs_file_pread(f, ZSTR_VAL(data), size, offset, &got);
    else
        rc = whefs_file_read(f, ZSTR_VAL(data), size, &got);
    if (rc != WHEFS_OK) {
        zend_string_efree(data);
        whefs_php_throw(rc);
        return NULL;
    }
    if (got != size)
        data = zend_string_truncate(data, got, 0);
    ZSTR_VAL(data)[got] = '\0';
    return data;
}

/* Glob matches, gathered with malloc inside the callback (no PHP
 * allocation, which may longjmp, runs under the library's frames), then
 * made into an array. */
struct whefs_php_match {
    char *path;
    char *name;
    uint32_t kind;
    uint64_t ino;
    uint64_t size;
};
struct whefs_php_matches {
    struct whefs_php_match *items;
    size_t count;
    size_t cap;
    int out_of_memory;
};

static int whefs_php_ls_collect(const char *path, const whefs_dirent *entry, void *userdata)
{
    struct whefs_php_matches *m = (struct whefs_php_matches *)userdata;
    struct whefs_php_match *item;

    if (m->count == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        struct whefs_php_match *grown =
            (struct whefs_php_match *)realloc(m->items, cap * sizeof *grown);
        if (grown == NULL) {
            m->out_of_memory = 1;
            return 1; /* stop */
        }
        m->items = grown;
        m->cap = cap;
    }
    item = &m->items[m->count];
    item->path = strdup(path);
    item->name = strdup(entry->name);
    if (item->path == NULL || item->name == NULL) {
        free(item->path);
        free(item->name);
        m->out_of_memory = 1;
        return 1;
    }
    item->kind = entry->kind;
    item->ino = entry->ino;
    item->size = entry->size;
    m->count++;
    return 0;
}

/* whefs_fs_backup's progress: calls the PHP callable from inside the
 * library's call. A bailout (a fatal error, the time limit) must never
 * longjmp across the library's frames, so it is caught right here and
 * resumed once the library has returned; an exception ends the calls and
 * is thrown when the backup returns (the library cannot stop a backup
 * half-way). */
struct whefs_php_progress {
    zend_fcall_info fci;
    zend_fcall_info_cache fcc;
    int stopped;
    int bailed;
};

static void whefs_php_progress_cb(uint64_t done, uint64_t total, void *userdata)
{
    struct whefs_php_progress *p = (struct whefs_php_progress *)userdata;
    zval args[2];
    zval ret;

    if (p->stopped)
        return;
    ZVAL_LONG(&args[0], (zend_long)done);
    ZVAL_LONG(&args[1], (zend_long)total);
    ZVAL_UNDEF(&ret);
    p->fci.retval = &ret;
    p->fci.params = args;
    p->fci.param_count = 2;
    zend_try {
        if (zend_call_function(&p->fci, &p->fcc) != SUCCESS || EG(exception) != NULL)
            p->stopped = 1;
        zval_ptr_dtor(&ret);
    } zend_catch {
        p->stopped = 1;
        p->bailed = 1;
    } zend_end_try();
}

/* whefs_diff's changes, gathered the same way (the kind in `kind`; the
 * path also as the name, unused). */
static int whefs_php_diff_collect(uint32_t kind, const char *path, void *userdata)
{
    whefs_dirent entry;
    memset(&entry, 0, sizeof entry);
    entry.name = path;
    entry.kind = kind;
    return whefs_php_ls_collect(path, &entry, userdata);
}
%}

%inline %{
/* whefs_read_file(fs, path): the whole pseudofile as a string, in one read
 * of one commit. The size is asked first (WHEFS_ERR_RANGE tells it); if
 * the file grows between the two calls, ask again. */
static zend_string *whefs_php_read_file(whefs_fs *fs, const char *path)
{
    size_t need = 0;
    size_t got = 0;
    zend_string *data;
    int rc;

    rc = whefs_read_file(fs, path, NULL, 0, &need);
    if (rc == WHEFS_OK)
        return ZSTR_EMPTY_ALLOC();
    for (;;) {
        if (rc != WHEFS_ERR_RANGE) {
            whefs_php_throw(rc);
            return NULL;
        }
        if (need > ZSTR_MAX_LEN) {
            zend_throw_exception(zend_ce_value_error, "file is too large for a PHP string", 0);
            return NULL;
        }
        data = zend_string_alloc(need, 0);
        rc = whefs_read_file(fs, path, ZSTR_VAL(data), need, &got);
        if (rc == WHEFS_OK) {
            if (got != need)
                data = zend_string_truncate(data, got, 0);
            ZSTR_VAL(data)[got] = '\0';
            return data;
        }
        zend_string_efree(data);
        need = got; /* the size needed now, when rc is WHEFS_ERR_RANGE */
    }
}

/* whefs_fs_label_get(fs): the container's label ("" if none). */
static zend_string *whefs_php_fs_label_get(whefs_fs *fs)
{
    size_t len = 0;
    zend_string *label;
    int rc;

    rc = whefs_fs_label_get(fs, NULL, 0, &len);
    if (rc != WHEFS_ERR_RANGE) {
        if (rc == WHEFS_OK)
            return ZSTR_EMPTY_ALLOC();
        whefs_php_throw(rc);
        return NULL;
    }
    label = zend_string_alloc(len, 0); /* room for len + 1 bytes */
    rc = whefs_fs_label_get(fs, ZSTR_VAL(label), len + 1, &len);
    if (rc != WHEFS_OK) {
        zend_string_efree(label);
        whefs_php_throw(rc);
        return NULL;
    }
    ZSTR_LEN(label) = len;
    return label;
}

/* whefs_readlink(fs, path): the target of the symbolic link at path. */
static zend_string *whefs_php_readlink(whefs_fs *fs, const char *path)
{
    size_t len = 0;
    zend_string *target;
    int rc;

    for (;;) {
        rc = whefs_readlink(fs, path, NULL, 0, &len);
        if (rc != WHEFS_ERR_RANGE) {
            whefs_php_throw(rc);
            return NULL;
        }
        target = zend_string_alloc(len, 0); /* room for len + 1 bytes */
        rc = whefs_readlink(fs, path, ZSTR_VAL(target), len + 1, &len);
        if (rc == WHEFS_OK)
            break;
        zend_string_efree(target);
        if (rc != WHEFS_ERR_RANGE) {
            whefs_php_throw(rc);
            return NULL;
        }
    }
    ZSTR_LEN(target) = len;
    return target;
}

/* whefs_file_read_bytes(f, size): up to size bytes at the position ("" at
 * the end of the file). */
static zend_string *whefs_php_file_read_bytes(whefs_file *f, size_t size)
{
    return whefs_php_read_common(f, size, 0, 0);
}

/* whefs_file_pread_bytes(f, size, offset): up to size bytes at offset; the
 * position stays. */
static zend_string *whefs_php_file_pread_bytes(whefs_file *f, size_t size, uint64_t offset)
{
    return whefs_php_read_common(f, size, 1, offset);
}

/* whefs_ls(fs, pattern): an array of entry arrays (with 'path', no leading
 * '/') for every glob match, depth first, in name order within a
 * directory. */
static zend_array *whefs_php_ls(whefs_fs *fs, const char *pattern)
{
    struct whefs_php_matches m = {NULL, 0, 0, 0};
    zend_array *list = NULL;
    zval item;
    size_t i;
    int rc;

    rc = whefs_ls(fs, pattern, whefs_php_ls_collect, &m);
    if (rc != WHEFS_OK)
        whefs_php_throw(rc);
    else if (m.out_of_memory)
        zend_throw_exception(zend_ce_exception, "out of memory", WHEFS_ERR_NOMEM);
    else
        list = zend_new_array((uint32_t)m.count);
    for (i = 0; i < m.count; i++) {
        if (list != NULL) {
            whefs_php_entry_array(&item, m.items[i].path, m.items[i].name, m.items[i].kind,
                                  m.items[i].ino, m.items[i].size);
            zend_hash_next_index_insert_new(list, &item);
        }
        free(m.items[i].path);
        free(m.items[i].name);
    }
    free(m.items);
    return list;
}

/* whefs_fs_backup(fs, dest, progress): copies the state fs reads into a
 * new container at dest; progress is null or called as
 * progress(done_pages, total_pages). Returns ['generation' => ..., 'pages'
 * => ..., 'bytes' => ..., 'files' => ..., 'dirs' => ...]. */
static zend_array *whefs_php_fs_backup(whefs_fs *fs, const char *dest, zval *progress)
{
    struct whefs_php_progress p;
    whefs_backup_report report;
    zend_array *out;
    zval v;
    char *error = NULL;
    int rc;

    memset(&p, 0, sizeof p);
    if (Z_TYPE_P(progress) != IS_NULL
        && zend_fcall_info_init(progress, 0, &p.fci, &p.fcc, NULL, &error) != SUCCESS) {
        zend_argument_type_error(3, "must be a valid callback or null, %s", error ? error : "not callable");
        if (error)
            efree(error);
        return NULL;
    }
    if (error)
        efree(error);
    memset(&report, 0, sizeof report);
    rc = whefs_fs_backup(fs, dest, Z_TYPE_P(progress) != IS_NULL ? whefs_php_progress_cb : NULL, &p,
                         &report);
    if (p.bailed)
        zend_bailout(); /* resumed outside the library's frames */
    if (EG(exception) != NULL)
        return NULL; /* thrown by the callback */
    if (rc != WHEFS_OK) {
        whefs_php_throw(rc);
        return NULL;
    }
    out = zend_new_array(5);
    ZVAL_LONG(&v, (zend_long)report.generation);
    zend_hash_str_add_new(out, "generation", sizeof "generation" - 1, &v);
    ZVAL_LONG(&v, (zend_long)report.pages);
    zend_hash_str_add_new(out, "pages", sizeof "pages" - 1, &v);
    ZVAL_LONG(&v, (zend_long)report.bytes);
    zend_hash_str_add_new(out, "bytes", sizeof "bytes" - 1, &v);
    ZVAL_LONG(&v, (zend_long)report.files);
    zend_hash_str_add_new(out, "files", sizeof "files" - 1, &v);
    ZVAL_LONG(&v, (zend_long)report.dirs);
    zend_hash_str_add_new(out, "dirs", sizeof "dirs" - 1, &v);
    return out;
}

/* whefs_diff(older, newer): an array of ['kind' => WHEFS_CHANGE_*, 'path'
 * => absolute path] for every difference, sorted by path. */
static zend_array *whefs_php_diff(whefs_fs *older, whefs_fs *newer)
{
    struct whefs_php_matches m = {NULL, 0, 0, 0};
    zend_array *list = NULL;
    zval item;
    size_t i;
    int rc;

    rc = whefs_diff(older, newer, whefs_php_diff_collect, &m);
    if (rc != WHEFS_OK)
        whefs_php_throw(rc);
    else if (m.out_of_memory)
        zend_throw_exception(zend_ce_exception, "out of memory", WHEFS_ERR_NOMEM);
    else
        list = zend_new_array((uint32_t)m.count);
    for (i = 0; i < m.count; i++) {
        if (list != NULL) {
            array_init(&item);
            add_assoc_long(&item, "kind", (zend_long)m.items[i].kind);
            add_assoc_string(&item, "path", m.items[i].path);
            zend_hash_next_index_insert_new(list, &item);
        }
        free(m.items[i].path);
        free(m.items[i].name);
    }
    free(m.items);
    return list;
}
%}

#endif /* SWIGPHP */
/* ======================================================================== */
