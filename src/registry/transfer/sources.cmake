# registry_transfer: pull and push of images (pull.hpp, push.hpp), written against the
# Repository interface only (repository.hpp). Push gzips layers with ISA-L's igzip while sending
# them (libisal-dev; see GzipSource in push.cpp for why not zlib).
pkg_check_modules(LIBISAL REQUIRED IMPORTED_TARGET libisal)
berth_add_module(NAME registry_transfer
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/transfer/pull.cpp ${CMAKE_CURRENT_SOURCE_DIR}/transfer/push.cpp
  DEPS image store archive oci common
  LIBS Threads::Threads
  PRIVATE_LIBS PkgConfig::LIBISAL)
