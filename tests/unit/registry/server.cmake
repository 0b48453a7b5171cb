# registry_server: the server in process on 127.0.0.1:0 over HTTP (a Beast client in the test).
find_package(Boost 1.74 REQUIRED)
berth_add_test(NAME registry_server_unit_tests LABELS unit
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/server_test.cpp
  LIBS berth::registry_server berth::store berth::common Boost::headers crypt
       nlohmann_json::nlohmann_json)
