# registry_server: see ../CMakeLists.txt. (Filled in by the server author.)
