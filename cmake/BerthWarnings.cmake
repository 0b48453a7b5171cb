# Warning and hardening flags shared by every target (CONVENTIONS.md, "Naming and format").
add_library(berth_flags INTERFACE)
target_compile_options(berth_flags INTERFACE
  -Wall -Wextra -Werror -Wshadow -Wformat-security -fPIE
  $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor>)
target_compile_definitions(berth_flags INTERFACE _GNU_SOURCE _FILE_OFFSET_BITS=64)
# Boost.Asio/Beast's configuration switches change the types their header-only templates are
# instantiated with; two translation units of one program that disagree break the one-definition
# rule (berthd links the API server and the registry server: the registry's connections died with
# std::bad_alloc until both were built alike). So every Berth target gets the same ones.
target_compile_definitions(berth_flags INTERFACE BOOST_ASIO_NO_DEPRECATED
  BOOST_BEAST_USE_STD_STRING_VIEW)
target_link_options(berth_flags INTERFACE -pie -Wl,-z,noexecstack -Wl,-z,relro -Wl,-z,now)
