# Warning and hardening flags shared by every target (CONVENTIONS.md, "Naming and format").
add_library(berth_flags INTERFACE)
target_compile_options(berth_flags INTERFACE
  -Wall -Wextra -Werror -Wshadow -Wformat-security -fPIE
  $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor>)
target_compile_definitions(berth_flags INTERFACE _GNU_SOURCE _FILE_OFFSET_BITS=64)
target_link_options(berth_flags INTERFACE -pie -Wl,-z,noexecstack -Wl,-z,relro -Wl,-z,now)
