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
#include <unistd.h>

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error(env, NULL, "shm_native: N-API call failed: " #call); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

typedef struct {
  void *addr;
  size_t length;
  int unmapped;
} mapping_t;

static void finalize_mapping(napi_env env, void *data, void *hint) {
  mapping_t *m = (mapping_t *)hint;
  if (!m->unmapped) {
    munmap(m->addr, m->length);
    int64_t ignored;
    napi_adjust_external_memory(env, -(int64_t)m->length, &ignored);
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

static napi_value wrap(napi_env env, void *addr, size_t length) {
  mapping_t *m = malloc(sizeof *m);
  if (!m) {
    munmap(addr, length);
    return throw_errno(env, "malloc", ENOMEM);
  }
  m->addr = addr;
  m->length = length;
  m->unmapped = 0;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, addr, length, finalize_mapping, m, &ab) != napi_ok) {
    munmap(addr, length);
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

// alloc(length): private zeroed memory, on transparent huge pages where the kernel allows.
static napi_value alloc_huge(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t length;
  if (argc < 1 || !get_int64(env, argv[0], &length) || length <= 0) {
    napi_throw_type_error(env, NULL, "alloc(length) takes a positive length");
    return NULL;
  }
  void *addr = mmap(NULL, (size_t)length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (addr == MAP_FAILED) return throw_errno(env, "mmap", errno);
  return wrap(env, addr, (size_t)length);
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
    munmap(m->addr, m->length);
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
      {"reserve", NULL, reserve, NULL, NULL, NULL, napi_default, NULL},
      {"unmap", NULL, unmap, NULL, NULL, NULL, napi_default, NULL},
      {"view", NULL, view, NULL, NULL, NULL, napi_default, NULL},
      {"detach", NULL, detach, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
