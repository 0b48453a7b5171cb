# registry_client: the parsers (challenges, scopes, hosts, URLs) and the libcurl Repository
# against Debian's docker-registry (anonymous, htpasswd, a python token server), a proxy that
# cuts blob downloads and a front that redirects them to a "CDN" (tests/support/registry).
add_library(berth_registry_test_support STATIC
  ${PROJECT_SOURCE_DIR}/tests/support/registry/registry_env.cpp)
target_include_directories(berth_registry_test_support PUBLIC
  ${PROJECT_SOURCE_DIR}/tests/support/registry)
target_link_libraries(berth_registry_test_support PUBLIC berth::common PRIVATE berth_flags)
target_compile_definitions(berth_registry_test_support PRIVATE
  BERTH_REGISTRY_SUPPORT_DIR="${PROJECT_SOURCE_DIR}/tests/support/registry")

berth_add_test(NAME registry_client_test LABELS unit TIMEOUT 60
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/client_parse_test.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/client_registry_test.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/client_auth_test.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/client_proxy_test.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/client_tls_test.cpp
  LIBS berth::registry_client berth_registry_test_support nlohmann_json::nlohmann_json)
# The parser tests reach the client's private headers (session.hpp, http.hpp).
target_include_directories(registry_client_test PRIVATE ${PROJECT_SOURCE_DIR}/src/registry/client)
