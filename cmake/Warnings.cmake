# Warnings for every Bulwark target; errors in CI (BULWARK_WERROR=ON).
function(bulwark_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
    -Wno-sign-conversion -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
    -Wimplicit-fallthrough)
  # -Wnull-dereference is left out: at -O2 GCC 12 reports it inside libstdc++ (streambuf,
  # basic_string) for correct code.
  if(BULWARK_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
