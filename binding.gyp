{
  "targets": [
    {
      "target_name": "shm_native",
      "sources": ["native/shm_native.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
