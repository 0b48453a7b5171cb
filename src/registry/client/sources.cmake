# registry_client: the HTTP side (libcurl transport, auth, TLS, certs.d) implementing
# Repository (include/berth/registry/repository.hpp) against real registries.
berth_add_module(NAME registry_client
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/client/http.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/client/session.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/client/remote_repository.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/client/client.cpp
  DEPS oci common
  LIBS CURL::libcurl OpenSSL::SSL nlohmann_json::nlohmann_json)
