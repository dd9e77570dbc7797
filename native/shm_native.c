// Memory-mapped shared memory for Node, which has no mmap of its own.
//
// The arena's segment files live on a tmpfs; Python maps them with numpy. This add-on
// lets the Node side map the same pages, so tensor bytes move with one user-space
// memcpy each way instead of a kernel copy through pread/pwrite. It also allocates
// large result buffers on transparent huge pages, where a fresh buffer costs 32 page
// faults per 64 MiB instead of 16,384. Optional: when it cannot be built, the arena
// falls back to positional file I/O (src/sdk/arena.ts).
#define NAPI_VERSION 8
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <node_api.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error(env, NULL, "shm_native: N-API call failed: " #call); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

#define HUGE_PAGE ((size_t)2 << 20)
#define MADV_POPULATE_WRITE_ 23  // <linux/mman.h>, Linux 5.14+; older headers lack the name

typedef struct {
  void *addr;    // what the ArrayBuffer sees
  size_t length;
  void *base;    // what munmap needs (alloc() maps a little more, to align to a huge page)
  size_t mapped;
  int unmapped;
  int recyclable;  // made by alloc(): its pages may serve a later alloc() of the same size
  double freed_at; // when it went back to the recycle list (monotonic ms)
} mapping_t;

// Large result buffers whose ArrayBuffers were collected, pages still faulted in: the next
// alloc() of the same size takes one instead of faulting fresh memory. trim() unmaps idle ones.
#define RECYCLE_SLOTS 8
#define RECYCLE_MAX_BYTES ((size_t)512 << 20)
static mapping_t *recycled[RECYCLE_SLOTS];
static size_t recycled_bytes;
static int live_recyclable; // alloc() buffers not yet collected: they may come back

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int recycle(mapping_t *m) {
  if (!m->recyclable || recycled_bytes + m->mapped > RECYCLE_MAX_BYTES) return 0;
  for (int i = 0; i < RECYCLE_SLOTS; i++) {
    if (!recycled[i]) {
      m->freed_at = now_ms();
      recycled[i] = m;
      recycled_bytes += m->mapped;
      return 1;
    }
  }
  return 0;
}

static mapping_t *take_recycled(size_t mapped) {
  for (int i = 0; i < RECYCLE_SLOTS; i++) {
    if (recycled[i] && recycled[i]->mapped == mapped) {
      mapping_t *m = recycled[i];
      recycled[i] = NULL;
      recycled_bytes -= m->mapped;
      return m;
    }
  }
  return NULL;
}

static void finalize_mapping(napi_env env, void *data, void *hint) {
  mapping_t *m = (mapping_t *)hint;
  if (!m->unmapped) {
    int64_t ignored;
    napi_adjust_external_memory(env, -(int64_t)m->length, &ignored);
    if (m->recyclable) live_recyclable--;
    if (recycle(m)) return;
    munmap(m->base, m->mapped);
  }
  free(m);
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, message, error;
  napi_create_string_utf8(env, err == ENOSPC ? "ENOSPC" : "ESHMNATIVE", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_throw(env, error);
  return NULL;
}

// An ArrayBuffer over `length` bytes at m->addr that unmaps (or recycles) m when collected.
static napi_value wrap_mapping(napi_env env, mapping_t *m, size_t length) {
  void *base = m->base, *addr = m->addr;
  size_t mapped = m->mapped;
  m->length = length;
  m->unmapped = 0;
  if (m->recyclable) live_recyclable++;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, addr, length, finalize_mapping, m, &ab) != napi_ok) {
    if (m->recyclable) live_recyclable--;
    munmap(base, mapped);
    free(m);
    napi_throw_error(env, NULL, "shm_native: cannot create an external ArrayBuffer");
    return NULL;
  }
  int64_t ignored;
  napi_adjust_external_memory(env, (int64_t)length, &ignored);
  // Remember the mapping on the buffer so unmap() can find it.
  napi_value ptr;
  CHECK(napi_create_external(env, m, NULL, NULL, &ptr));
  CHECK(napi_set_named_property(env, ab, "__mapping", ptr));
  return ab;
}

static napi_value wrap_within(napi_env env, void *base, size_t mapped, void *addr, size_t length,
                              int recyclable) {
  mapping_t *m = malloc(sizeof *m);
  if (!m) {
    munmap(base, mapped);
    return throw_errno(env, "malloc", ENOMEM);
  }
  m->addr = addr;
  m->base = base;
  m->mapped = mapped;
  m->recyclable = recyclable;
  return wrap_mapping(env, m, length);
}

static napi_value wrap(napi_env env, void *addr, size_t length) {
  return wrap_within(env, addr, length, addr, length, 0);
}

static int get_int64(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok;
}

// map(fd, length): a shared, read-write mapping of the first `length` bytes of a file.
static napi_value map_fd(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t fd, length;
  if (argc < 2 || !get_int64(env, argv[0], &fd) || !get_int64(env, argv[1], &length) || length <= 0) {
    napi_throw_type_error(env, NULL, "map(fd, length) takes a file descriptor and a positive length");
    return NULL;
  }
  void *addr = mmap(NULL, (size_t)length, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
  if (addr == MAP_FAILED) return throw_errno(env, "mmap", errno);
  return wrap(env, addr, (size_t)length);
}

// alloc(length): private memory, on transparent huge pages where the kernel allows, faulted in
// now. Its contents are unspecified (a recycled buffer keeps old bytes): the caller overwrites it.
static napi_value alloc_huge(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t length;
  if (argc < 1 || !get_int64(env, argv[0], &length) || length <= 0) {
    napi_throw_type_error(env, NULL, "alloc(length) takes a positive length");
    return NULL;
  }
  size_t len = (size_t)length;
  if (len < HUGE_PAGE) {
    void *addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (addr == MAP_FAILED) return throw_errno(env, "mmap", errno);
    return wrap(env, addr, len);
  }
  // Map one huge page more than asked, so that the buffer can start on a 2 MiB boundary,
  // ask for huge pages, then fault everything in now (one fault per 2 MiB where granted).
  size_t mapped = ((len + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1)) + HUGE_PAGE;
  mapping_t *again = take_recycled(mapped);
  if (again) return wrap_mapping(env, again, len);
  char *base = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return throw_errno(env, "mmap", errno);
  char *addr = (char *)(((uintptr_t)base + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
  madvise(addr, len, MADV_HUGEPAGE);  // a hint: refused where THP is off, and then 4 KiB pages
  if (madvise(addr, len, MADV_POPULATE_WRITE_) != 0) {
    // Kernels before 5.14 lack MADV_POPULATE_WRITE: touch one byte per page instead.
    long page = sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < len; i += (size_t)page) ((volatile char *)addr)[i] = 0;
  }
  return wrap_within(env, base, mapped, addr, len, 1);
}

// trim(idleMs): unmap recycled buffers idle for at least idleMs. Returns how many buffers may
// still need a later trim: those left on the list and those alive that may come back to it.
static napi_value trim(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double idle = 0;
  if (argc >= 1) napi_get_value_double(env, argv[0], &idle);
  double cutoff = now_ms() - idle;
  int left = 0;
  for (int i = 0; i < RECYCLE_SLOTS; i++) {
    mapping_t *m = recycled[i];
    if (!m) continue;
    if (m->freed_at <= cutoff) {
      recycled[i] = NULL;
      recycled_bytes -= m->mapped;
      munmap(m->base, m->mapped);
      free(m);
    } else {
      left++;
    }
  }
  napi_value out;
  CHECK(napi_create_int32(env, left + live_recyclable, &out));
  return out;
}

// reserve(fd, offset, length): back a range of a tmpfs file with pages now, so that a later
// write through a mapping can never die of SIGBUS when the tmpfs is full (ENOSPC instead).
static napi_value reserve(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t fd, offset, length;
  if (argc < 3 || !get_int64(env, argv[0], &fd) || !get_int64(env, argv[1], &offset) ||
      !get_int64(env, argv[2], &length)) {
    napi_throw_type_error(env, NULL, "reserve(fd, offset, length) takes three integers");
    return NULL;
  }
  if (length > 0) {
    int err = posix_fallocate((int)fd, (off_t)offset, (off_t)length);
    if (err != 0) return throw_errno(env, "posix_fallocate", err);
  }
  return NULL;
}

// unmap(buffer): release a mapping made by map() now rather than at garbage collection.
// The caller guarantees that no view of it is used afterwards.
static napi_value unmap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_value ptr;
  if (argc < 1 || napi_get_named_property(env, argv[0], "__mapping", &ptr) != napi_ok) {
    napi_throw_type_error(env, NULL, "unmap(buffer) takes a buffer made by map()");
    return NULL;
  }
  mapping_t *m;
  if (napi_get_value_external(env, ptr, (void **)&m) != napi_ok) {
    napi_throw_type_error(env, NULL, "unmap(buffer) takes a buffer made by map()");
    return NULL;
  }
  if (!m->unmapped) {
    m->unmapped = 1;
    CHECK(napi_detach_arraybuffer(env, argv[0]));  // any later access throws instead of crashing
    munmap(m->base, m->mapped);
    int64_t ignored;
    napi_adjust_external_memory(env, -(int64_t)m->length, &ignored);
  }
  return NULL;
}

// view(buffer, offset, length): an ArrayBuffer over bytes of a mapping made by map(), no copy.
// It owns nothing (the caller keeps the mapping alive while it may be read) and can be
// detached on its own with detach(), so a released view reads as empty, never as stale data.
static napi_value view(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *base;
  size_t size;
  int64_t offset, length;
  if (argc < 3 || napi_get_arraybuffer_info(env, argv[0], &base, &size) != napi_ok ||
      !get_int64(env, argv[1], &offset) || !get_int64(env, argv[2], &length) || offset < 0 || length <= 0 ||
      (uint64_t)offset + (uint64_t)length > size) {
    napi_throw_range_error(env, NULL, "view(buffer, offset, length) takes a mapped buffer and a range inside it");
    return NULL;
  }
  napi_value ab;
  CHECK(napi_create_external_arraybuffer(env, (char *)base + offset, (size_t)length, NULL, NULL, &ab));
  return ab;
}

// detach(buffer): detach a buffer made by view(); every typed array over it then has length 0.
static napi_value detach(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool detached = false;
  if (argc < 1 || napi_is_detached_arraybuffer(env, argv[0], &detached) != napi_ok) {
    napi_throw_type_error(env, NULL, "detach(buffer) takes an ArrayBuffer");
    return NULL;
  }
  if (!detached) CHECK(napi_detach_arraybuffer(env, argv[0]));
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"map", NULL, map_fd, NULL, NULL, NULL, napi_default, NULL},
      {"alloc", NULL, alloc_huge, NULL, NULL, NULL, napi_default, NULL},
      {"trim", NULL, trim, NULL, NULL, NULL, napi_default, NULL},
      {"reserve", NULL, reserve, NULL, NULL, NULL, napi_default, NULL},
      {"unmap", NULL, unmap, NULL, NULL, NULL, napi_default, NULL},
      {"view", NULL, view, NULL, NULL, NULL, napi_default, NULL},
      {"detach", NULL, detach, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
