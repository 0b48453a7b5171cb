# registry_client: see ../CMakeLists.txt. (Filled in by the client's author.)
