/*
 * The record walk in C: the first-choice engine of the capture readers.
 *
 * Same two functions, same arguments in the same order, same results as the
 * numba kernels in numbawalk.py and the plain-Python walk in pywalk.py (see
 * pywalk.py for the contract and the ST_* status codes).  Why C as well as
 * numba: the walk itself is a small part of a read, but loading numba costs
 * every process much memory and start-up time; this module costs neither.
 *
 * The arrays arrive through the buffer protocol (no numpy C API): `buf` is any
 * C-contiguous buffer of bytes; every output array must be writable,
 * C-contiguous, of the native integer type the reader allocates (int64 offsets
 * and interface ids, uint32 lengths and timestamps, uint8 has_ts) and at least
 * `max_n` items long.  Misuse raises TypeError or ValueError.
 *
 * Safety: every length read from the file is checked against `end` before a
 * byte it implies is touched, `end` is checked against the length of `buf`,
 * and all arithmetic on positions and lengths is 64-bit, so a 32-bit length
 * near 2^32 cannot wrap.  The GIL is released around the loop: the bytes and
 * arrays stay pinned by the buffer views held meanwhile, and other threads
 * (the SHA-256 helper of hashing.py) run on.
 *
 * Plain C99, no dependencies beyond Python.h.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

/* Why a walk stopped (values shared with pywalk.py). */
enum {
    ST_END = 0,
    ST_NEED = 1,
    ST_FULL = 2,
    ST_CONTROL = 3,
    ST_TOO_BIG = 4,
    ST_BAD_LENGTH = 5,
    ST_TRAILER = 6,
    ST_BODY = 7,
    ST_INTERFACE = 8
};

/* pcapng block types. */
#define BT_SHB 0x0A0D0D0AU
#define BT_IDB 0x00000001U
#define BT_OPB 0x00000002U
#define BT_SPB 0x00000003U
#define BT_EPB 0x00000006U

/* What a walk returns besides the filled arrays. */
typedef struct {
    int64_t n;
    int64_t pos;
    int64_t status;
    int64_t detail;
} walk_out;

static inline int64_t rd32(const uint8_t *p, int big)
{
    if (big)
        return ((int64_t)p[0] << 24) | ((int64_t)p[1] << 16) | ((int64_t)p[2] << 8) |
               (int64_t)p[3];
    return ((int64_t)p[3] << 24) | ((int64_t)p[2] << 16) | ((int64_t)p[1] << 8) |
           (int64_t)p[0];
}

static inline int64_t rd16(const uint8_t *p, int big)
{
    if (big)
        return ((int64_t)p[0] << 8) | (int64_t)p[1];
    return ((int64_t)p[1] << 8) | (int64_t)p[0];
}

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ---- the walks (no Python objects touched: they run without the GIL) ---- */

typedef struct {
    int64_t *off;
    uint32_t *cap, *wire, *sec, *frac;
} pcap_cols;

static walk_out walk_pcap_records(const uint8_t *buf, int64_t pos, int64_t end, int big,
                                  int64_t hdr_len, int64_t max_cap, pcap_cols o, int64_t n,
                                  int64_t max_n)
{
    walk_out r = {0, 0, ST_FULL, 0};
    while (n < max_n) {
        if (end - pos < hdr_len) {
            r.status = ST_END;
            r.detail = hdr_len;
            goto done;
        }
        const uint8_t *h = buf + pos;
        int64_t c = rd32(h + 8, big);
        if (c > max_cap) {
            r.status = ST_TOO_BIG;
            r.detail = c;
            goto done;
        }
        if (end - pos - hdr_len < c) {
            r.status = ST_NEED;
            r.detail = hdr_len + c;
            goto done;
        }
        o.sec[n] = (uint32_t)rd32(h, big);
        o.frac[n] = (uint32_t)rd32(h + 4, big);
        o.wire[n] = (uint32_t)rd32(h + 12, big);
        o.cap[n] = (uint32_t)c;
        o.off[n] = pos + hdr_len;
        n++;
        pos += hdr_len + c;
    }
done:
    r.n = n;
    r.pos = pos;
    return r;
}

typedef struct {
    int64_t *off;
    uint32_t *cap, *wire;
    int64_t *iface;
    uint32_t *ts_hi, *ts_lo;
    uint8_t *has_ts;
} pcapng_cols;

#define STOP(st, d)         \
    do {                    \
        r.status = (st);    \
        r.detail = (d);     \
        goto done;          \
    } while (0)

static walk_out walk_pcapng_blocks(const uint8_t *buf, int64_t pos, int64_t end, int big,
                                   int64_t n_if, int64_t snap0, int64_t max_block,
                                   pcapng_cols o, int64_t n, int64_t max_n)
{
    walk_out r = {0, 0, ST_FULL, 0};
    while (n < max_n) {
        if (end - pos < 8)
            STOP(ST_END, 8);
        const uint8_t *b = buf + pos;
        int64_t btype = rd32(b, big);
        if (btype == BT_SHB)
            STOP(ST_CONTROL, 0);
        int64_t blen = rd32(b + 4, big);
        if (blen < 12 || blen % 4 != 0)
            STOP(ST_BAD_LENGTH, blen);
        if (blen > max_block)
            STOP(ST_TOO_BIG, blen);
        if (end - pos < blen)
            STOP(ST_NEED, blen);
        /* From here on the whole block, blen >= 12 bytes, lies before end. */
        int64_t trailer = rd32(b + blen - 4, big);
        if (trailer != blen)
            STOP(ST_TRAILER, trailer);
        if (btype == BT_IDB)
            STOP(ST_CONTROL, 0);
        if (btype == BT_EPB || btype == BT_OPB) {
            if (blen < 32)
                STOP(ST_BODY, 0);
            int64_t i = btype == BT_EPB ? rd32(b + 8, big) : rd16(b + 8, big);
            int64_t c = rd32(b + 20, big);
            if (c > blen - 32)
                STOP(ST_BODY, c);
            if (i >= n_if)
                STOP(ST_INTERFACE, i);
            o.off[n] = pos + 28;
            o.cap[n] = (uint32_t)c;
            o.wire[n] = (uint32_t)rd32(b + 24, big);
            o.iface[n] = i;
            o.ts_hi[n] = (uint32_t)rd32(b + 12, big);
            o.ts_lo[n] = (uint32_t)rd32(b + 16, big);
            o.has_ts[n] = 1;
            n++;
        } else if (btype == BT_SPB) {
            if (blen < 16)
                STOP(ST_BODY, 0);
            if (n_if < 1)
                STOP(ST_INTERFACE, 0);
            int64_t w = rd32(b + 8, big);
            int64_t c = min64(w, blen - 16);
            if (snap0 > 0)
                c = min64(c, snap0);
            o.off[n] = pos + 12;
            o.cap[n] = (uint32_t)c;
            o.wire[n] = (uint32_t)w;
            o.iface[n] = 0;
            o.ts_hi[n] = 0;
            o.ts_lo[n] = 0;
            o.has_ts[n] = 0;
            n++;
        }
        pos += blen;
    }
done:
    r.n = n;
    r.pos = pos;
    return r;
}

/* ---- argument checking ---- */

/* 1 if the buffer format names a native-order integer of the given signedness. */
static int native_int_format(const char *fmt, int is_signed)
{
    if (fmt == NULL)
        return 0;
    if (*fmt == '@' || *fmt == '=')
        fmt++;
#if PY_BIG_ENDIAN
    else if (*fmt == '>' || *fmt == '!')
        fmt++;
#else
    else if (*fmt == '<')
        fmt++;
#endif
    if (fmt[0] == '\0' || fmt[1] != '\0')
        return 0;
    return strchr(is_signed ? "bhilqn" : "BHILQN", fmt[0]) != NULL;
}

/*
 * Take a writable view of output array `obj` (argument `name`): C-contiguous,
 * native integers of `itemsize` bytes and the given signedness, at least
 * `need` items.  Returns 0 on success, -1 with an exception set.
 */
static int get_column(PyObject *obj, const char *name, Py_ssize_t itemsize, int is_signed,
                      int64_t need, Py_buffer *view)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_WRITABLE | PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) {
        PyErr_Format(PyExc_TypeError,
                     "%s must be a writable C-contiguous array, not %.100s", name,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    const char *kind = is_signed ? "int" : "uint";
    if (view->itemsize != itemsize || !native_int_format(view->format, is_signed)) {
        PyErr_Format(PyExc_TypeError, "%s must hold native %s%d items, not format '%s' of %zd bytes",
                     name, kind, (int)(itemsize * 8), view->format ? view->format : "B",
                     view->itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    Py_ssize_t items = view->len / itemsize;
    if ((int64_t)items < need) {
        PyErr_Format(PyExc_ValueError, "%s holds %zd items, fewer than max_n (%lld)", name, items,
                     (long long)need);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* Take a read-only view of the byte buffer and check pos and end against it. */
static int get_bytes(PyObject *obj, int64_t pos, int64_t end, Py_buffer *view)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) {
        PyErr_Format(PyExc_TypeError, "buf must be a C-contiguous byte buffer, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    const char *f = view->format;
    if (view->itemsize != 1 || (f != NULL && strcmp(f, "B") != 0 && strcmp(f, "b") != 0 &&
                                strcmp(f, "c") != 0 && strcmp(f, "<B") != 0 &&
                                strcmp(f, "=B") != 0 && strcmp(f, "@B") != 0)) {
        PyErr_Format(PyExc_TypeError, "buf must hold bytes, not format '%s' of %zd bytes",
                     f ? f : "B", view->itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    if (pos < 0 || end < 0 || end > (int64_t)view->len) {
        PyErr_Format(PyExc_ValueError,
                     "pos (%lld) and end (%lld) must lie within buf (%zd bytes)", (long long)pos,
                     (long long)end, view->len);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int check_counts(int64_t n, int64_t max_n)
{
    if (n < 0 || max_n < 0) {
        PyErr_Format(PyExc_ValueError, "n (%lld) and max_n (%lld) must not be negative",
                     (long long)n, (long long)max_n);
        return -1;
    }
    return 0;
}

static void release_all(Py_buffer *views, int count)
{
    for (int i = 0; i < count; i++)
        PyBuffer_Release(&views[i]);
}

/* One output array a walk fills: the object passed and what it must hold. */
typedef struct {
    PyObject *obj;
    const char *name;
    Py_ssize_t size;
    int is_signed;
} column_spec;

/*
 * The views both walks need: `buf` in v[0], then each of the `count` output
 * columns in v[1..count].  Returns 0, or -1 with an exception set and every
 * view taken so far released.
 */
static int get_views(PyObject *buf_o, int64_t pos, int64_t end, const column_spec *cols,
                     int count, int64_t max_n, Py_buffer *v)
{
    if (get_bytes(buf_o, pos, end, &v[0]) < 0)
        return -1;
    for (int i = 0; i < count; i++) {
        if (get_column(cols[i].obj, cols[i].name, cols[i].size, cols[i].is_signed, max_n,
                       &v[i + 1]) < 0) {
            release_all(v, i + 1);
            return -1;
        }
    }
    return 0;
}

/* ---- the Python functions ---- */

PyDoc_STRVAR(walk_pcap_doc,
             "walk_pcap(buf, pos, end, big, hdr_len, max_cap, off, cap, wire, sec, frac, n, "
             "max_n)\n--\n\n"
             "Walk pcap record headers; C twin of annotator.capture.formats.pywalk.walk_pcap.\n"
             "Returns (n, pos, status, detail).");

static PyObject *py_walk_pcap(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *buf_o, *off_o, *cap_o, *wire_o, *sec_o, *frac_o;
    long long pos, end, hdr_len, max_cap, n, max_n;
    int big;
    if (!PyArg_ParseTuple(args, "OLLpLLOOOOOLL:walk_pcap", &buf_o, &pos, &end, &big, &hdr_len,
                          &max_cap, &off_o, &cap_o, &wire_o, &sec_o, &frac_o, &n, &max_n))
        return NULL;
    if (hdr_len < 16) {
        PyErr_Format(PyExc_ValueError, "hdr_len must be at least 16, not %lld", hdr_len);
        return NULL;
    }
    if (check_counts(n, max_n) < 0)
        return NULL;
    const column_spec cols[5] = {
        {off_o, "off", 8, 1},    {cap_o, "cap", 4, 0},   {wire_o, "wire", 4, 0},
        {sec_o, "sec", 4, 0},    {frac_o, "frac", 4, 0},
    };
    Py_buffer v[6];
    if (get_views(buf_o, pos, end, cols, 5, max_n, v) < 0)
        return NULL;
    pcap_cols o = {(int64_t *)v[1].buf, (uint32_t *)v[2].buf, (uint32_t *)v[3].buf,
                   (uint32_t *)v[4].buf, (uint32_t *)v[5].buf};
    walk_out r;
    Py_BEGIN_ALLOW_THREADS
    r = walk_pcap_records((const uint8_t *)v[0].buf, pos, end, big, hdr_len, max_cap, o, n, max_n);
    Py_END_ALLOW_THREADS
    release_all(v, 6);
    return Py_BuildValue("(LLLL)", (long long)r.n, (long long)r.pos, (long long)r.status,
                         (long long)r.detail);
}

PyDoc_STRVAR(walk_pcapng_doc,
             "walk_pcapng(buf, pos, end, big, n_if, snap0, max_block, off, cap, wire, iface, "
             "ts_hi, ts_lo, has_ts, n, max_n)\n--\n\n"
             "Walk pcapng blocks; C twin of annotator.capture.formats.pywalk.walk_pcapng.\n"
             "Returns (n, pos, status, detail).");

static PyObject *py_walk_pcapng(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *buf_o, *off_o, *cap_o, *wire_o, *iface_o, *hi_o, *lo_o, *has_o;
    long long pos, end, n_if, snap0, max_block, n, max_n;
    int big;
    if (!PyArg_ParseTuple(args, "OLLpLLLOOOOOOOLL:walk_pcapng", &buf_o, &pos, &end, &big, &n_if,
                          &snap0, &max_block, &off_o, &cap_o, &wire_o, &iface_o, &hi_o, &lo_o,
                          &has_o, &n, &max_n))
        return NULL;
    if (check_counts(n, max_n) < 0)
        return NULL;
    const column_spec cols[7] = {
        {off_o, "off", 8, 1},     {cap_o, "cap", 4, 0},  {wire_o, "wire", 4, 0},
        {iface_o, "iface", 8, 1}, {hi_o, "ts_hi", 4, 0}, {lo_o, "ts_lo", 4, 0},
        {has_o, "has_ts", 1, 0},
    };
    Py_buffer v[8];
    if (get_views(buf_o, pos, end, cols, 7, max_n, v) < 0)
        return NULL;
    pcapng_cols o = {(int64_t *)v[1].buf,  (uint32_t *)v[2].buf, (uint32_t *)v[3].buf,
                     (int64_t *)v[4].buf,  (uint32_t *)v[5].buf, (uint32_t *)v[6].buf,
                     (uint8_t *)v[7].buf};
    walk_out r;
    Py_BEGIN_ALLOW_THREADS
    r = walk_pcapng_blocks((const uint8_t *)v[0].buf, pos, end, big, n_if, snap0, max_block, o, n,
                           max_n);
    Py_END_ALLOW_THREADS
    release_all(v, 8);
    return Py_BuildValue("(LLLL)", (long long)r.n, (long long)r.pos, (long long)r.status,
                         (long long)r.detail);
}

static PyMethodDef cwalk_methods[] = {
    {"walk_pcap", py_walk_pcap, METH_VARARGS, walk_pcap_doc},
    {"walk_pcapng", py_walk_pcapng, METH_VARARGS, walk_pcapng_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cwalk_module = {
    PyModuleDef_HEAD_INIT,
    "annotator.capture.formats._cwalk",
    "The capture record walk in C (see annotator.capture.formats.pywalk for the contract).",
    0,
    cwalk_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__cwalk(void)
{
    return PyModule_Create(&cwalk_module);
}
