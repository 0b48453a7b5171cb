# registry_server: the OCI distribution spec 1.1 over the content store (`berth-registry serve`).
# See ../CMakeLists.txt. HTTP with Boost.Beast (plain or TLS over OpenSSL), htpasswd bcrypt via
# libxcrypt (crypt).
berth_add_module(NAME registry_server
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/server/server.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/server/registry.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/server/repo_store.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/server/http_conn.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/server/htpasswd.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/server/spec.cpp
  DEPS store oci common
  LIBS Threads::Threads
  PRIVATE_LIBS Boost::headers OpenSSL::SSL OpenSSL::Crypto crypt nlohmann_json::nlohmann_json)
