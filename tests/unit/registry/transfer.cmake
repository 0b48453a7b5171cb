# registry_transfer: pull and push against an in-memory registry (fake_repository.hpp).
berth_add_test(NAME registry_transfer_tests LABELS unit TIMEOUT 300
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/transfer_pull_test.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/transfer_push_test.cpp
  LIBS berth::registry_transfer berth::archive)
