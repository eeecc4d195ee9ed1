# Warnings for every Bulwark target; errors in CI (BULWARK_WERROR=ON).
function(bulwark_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
    -Wno-sign-conversion -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
    -Wnull-dereference -Wimplicit-fallthrough)
  if(BULWARK_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
