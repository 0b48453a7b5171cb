# berth_add_module(NAME <m> SOURCES ... DEPS <berth modules> LIBS <other targets>)
#
# One static library per src/<m>/, alias berth::<m>. Public headers live in
# src/<m>/include/berth/<m>/; only targets that link the module see them, so a
# layering violation (a module including a header it may not use) fails to compile.
function(berth_add_module)
  cmake_parse_arguments(M "" "NAME" "SOURCES;DEPS;LIBS;PRIVATE_LIBS" ${ARGN})
  add_library(berth_${M_NAME} STATIC ${M_SOURCES})
  add_library(berth::${M_NAME} ALIAS berth_${M_NAME})
  target_include_directories(berth_${M_NAME}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  set(deps)
  foreach(d IN LISTS M_DEPS)
    list(APPEND deps berth::${d})
  endforeach()
  target_link_libraries(berth_${M_NAME} PUBLIC ${deps} ${M_LIBS} PRIVATE berth_flags ${M_PRIVATE_LIBS})
endfunction()

# berth_add_test(NAME <t> SOURCES ... LIBS ... LABELS unit|root ... [TIMEOUT s])
# Registers every GoogleTest case with CTest; GTEST_SKIP() shows as skipped.
function(berth_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main berth_flags)
  list(GET T_LABELS 0 first_label)
  gtest_discover_tests(${T_NAME}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS "${first_label}" TIMEOUT ${T_TIMEOUT}
               SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
  list(LENGTH T_LABELS n_labels)
  if(n_labels GREATER 1)
    # gtest_discover_tests splits a list-valued property ("root;cgroup1" would become LABELS
    # root plus stray properties that swallow TIMEOUT), so set the whole list after discovery,
    # from the test list it defines, in a file CTest includes after the discovery script.
    string(REPLACE ";" "\\;" labels_escaped "${T_LABELS}")
    file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/${T_NAME}_labels.cmake
      "foreach(t IN LISTS ${T_NAME}_TESTS)\n"
      "  set_tests_properties(\"\${t}\" PROPERTIES LABELS \"${labels_escaped}\" TIMEOUT ${T_TIMEOUT})\n"
      "endforeach()\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES
      ${CMAKE_CURRENT_BINARY_DIR}/${T_NAME}_labels.cmake)
  endif()
endfunction()
