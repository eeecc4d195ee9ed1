# One library per module, all alike: bulwark_<name> with the alias bulwark::<name>, its public
# headers under include/ and private ones under src/, the project's warnings.
#
#   bulwark_module(<name> [STATIC] SOURCES <files...> [PUBLIC <libs...>] [PRIVATE <libs...>])
function(bulwark_module name)
  cmake_parse_arguments(M "STATIC" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  if(M_STATIC)
    add_library(bulwark_${name} STATIC ${M_SOURCES})
  else()
    add_library(bulwark_${name} ${M_SOURCES})
  endif()
  add_library(bulwark::${name} ALIAS bulwark_${name})
  target_include_directories(bulwark_${name} PUBLIC include PRIVATE src)
  target_link_libraries(bulwark_${name} PUBLIC ${M_PUBLIC} PRIVATE ${M_PRIVATE})
  bulwark_warnings(bulwark_${name})
endfunction()
