# registry_transfer: see ../CMakeLists.txt. (Filled in by the transfer author.)
