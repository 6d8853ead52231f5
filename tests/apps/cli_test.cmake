# End-to-end check of `implicit deq --input`: JSON in, JSON out, and a clear
# error (exit code 2) for a malformed file; then `deq` and `monotone-inverse`
# with --backend eigen and --backend torch must give the same JSON.
cmake_policy(VERSION 3.25)  # a -P script starts with every policy OLD (IN_LIST below)
set(input ${WORK}/deq_input.json)
file(WRITE ${input} "{\"W\": [[0.1, -0.2], [0.3, 0.05]], \"x\": [0.5, -1.0]}")
execute_process(COMMAND ${IMPLICIT} deq --input ${input} --solver newton --unrolled
                OUTPUT_VARIABLE out RESULT_VARIABLE code)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "implicit deq failed (${code}): ${out}")
endif()
string(JSON status GET "${out}" status)
string(JSON g00 GET "${out}" grad_W 0 0)
string(JSON u00 GET "${out}" unrolled grad_W 0 0)
string(JSON z0 GET "${out}" z_star 0)
if(NOT status STREQUAL "converged")
  message(FATAL_ERROR "status ${status}")
endif()
# IFT and unrolled gradients agree (the CLI reports their largest difference).
string(JSON diff GET "${out}" unrolled max_abs_difference_to_implicit)
if(NOT diff LESS 1e-8)
  message(FATAL_ERROR "implicit and unrolled gradients differ by ${diff}")
endif()
file(WRITE ${WORK}/bad.json "{\"W\": [[0.1, 0.2]], \"x\": [1.0]}")
execute_process(COMMAND ${IMPLICIT} deq --input ${WORK}/bad.json RESULT_VARIABLE bad ERROR_VARIABLE err)
if(NOT bad EQUAL 2 OR NOT err MATCHES "n x n")
  message(FATAL_ERROR "malformed input: exit ${bad}, stderr: ${err}")
endif()
message(STATUS "z_star[0] = ${z0}, grad_W[0][0] = ${g00} (unrolled ${u00})")

# --tol below the floor (8 eps) is raised to it, as documented in --help,
# never refused: the subnormal 5e-324 included.
execute_process(COMMAND ${IMPLICIT} deq --input ${input} --tol 5e-324 RESULT_VARIABLE tiny
                OUTPUT_VARIABLE tiny_out ERROR_VARIABLE tiny_err)
if(NOT tiny EQUAL 0)
  message(FATAL_ERROR "--tol 5e-324: exit ${tiny}: ${tiny_err}")
endif()
# A non-contractive W = 3 I: Newton finds one fixed point, forward iteration
# diverges or settles on another, so the unrolled gradient is printed with a
# note instead of a comparison with the implicit one.
file(WRITE ${WORK}/expanding.json "{\"W\": [[3.0, 0.0], [0.0, 3.0]], \"x\": [0.5, -1.0]}")
foreach(backend eigen torch)
  execute_process(COMMAND ${IMPLICIT} deq --input ${WORK}/expanding.json --solver newton --unrolled
                          --backend ${backend}
                  OUTPUT_VARIABLE nc RESULT_VARIABLE nc_code ERROR_VARIABLE nc_err)
  if(nc_err MATCHES "no LibTorch layer")
    continue()  # a build without the torch backend
  endif()
  string(JSON note ERROR_VARIABLE no_note GET "${nc}" unrolled note)
  string(JSON cmp ERROR_VARIABLE no_cmp GET "${nc}" unrolled max_abs_difference_to_implicit)
  if(no_note OR NOT note MATCHES "not comparable" OR NOT no_cmp OR nc_code EQUAL 2)
    message(FATAL_ERROR "${backend}: unrolled on a diverging iteration must carry a note and no "
                        "comparison (exit ${nc_code}): ${nc}")
  endif()
endforeach()

# ---------------------------------------------------------------------------
# --backend: the tensor path (implicit::torch) must reproduce the dense path.
# Every number of the two JSON documents must agree within 1e-8 absolute +
# 1e-8 relative, every string and null exactly, except the keys in `skip`
# (what legitimately differs: the backend's name, the adjoint method the
# backend chose, and the wording of failure messages).

# `number` (a JSON number as text) as an integer count of 1e-12 units, so
# that CMake's 64-bit integer math() can subtract two of them. Truncates
# below 1e-12; |number| must stay below 1e6.
function(to_pico number out)
  if(NOT number MATCHES "^(-?)([0-9]*)\\.?([0-9]*)([eE]([-+]?[0-9]+))?$")
    message(FATAL_ERROR "not a JSON number: '${number}'")
  endif()
  set(sign "${CMAKE_MATCH_1}")
  set(digits "${CMAKE_MATCH_2}${CMAKE_MATCH_3}")
  string(LENGTH "${CMAKE_MATCH_3}" fraction_length)
  set(exponent 0)
  if(NOT "${CMAKE_MATCH_5}" STREQUAL "")
    string(REGEX REPLACE "^\\+" "" exponent "${CMAKE_MATCH_5}")
  endif()
  math(EXPR shift "${exponent} - ${fraction_length} + 12")
  if(shift GREATER 0)
    string(REPEAT "0" ${shift} zeros)
    string(APPEND digits "${zeros}")
  elseif(shift LESS 0)
    string(LENGTH "${digits}" length)
    math(EXPR keep "${length} + ${shift}")
    if(keep GREATER 0)
      string(SUBSTRING "${digits}" 0 ${keep} digits)
    else()
      set(digits 0)
    endif()
  endif()
  string(REGEX REPLACE "^0+" "" digits "${digits}")
  if(digits STREQUAL "")
    set(digits 0)
  endif()
  string(LENGTH "${digits}" length)
  if(length GREATER 18)
    message(FATAL_ERROR "${number} is too large to compare here")
  endif()
  set(${out} "${sign}${digits}" PARENT_SCOPE)
endfunction()

# Compares the values at the JSON path ARGN of documents a (eigen) and b
# (torch), recursing into arrays and objects; FATAL_ERROR names the first
# path that differs. Counts the numbers compared in `compared`.
function(expect_same_json a b)
  set(path ${ARGN})
  string(JSON type_a TYPE "${a}" ${path})
  string(JSON type_b TYPE "${b}" ${path})
  if(NOT type_a STREQUAL type_b)
    message(FATAL_ERROR "${label}: '${path}' is ${type_a} on eigen, ${type_b} on torch")
  endif()
  if(type_a STREQUAL "OBJECT")
    string(JSON count LENGTH "${a}" ${path})
    string(JSON count_b LENGTH "${b}" ${path})
    if(NOT count EQUAL count_b)
      message(FATAL_ERROR "${label}: '${path}' has ${count} and ${count_b} keys")
    endif()
    math(EXPR last "${count} - 1")
    foreach(i RANGE ${last})
      string(JSON key MEMBER "${a}" ${path} ${i})
      if(NOT key IN_LIST skip)
        expect_same_json("${a}" "${b}" ${path} ${key})
      endif()
    endforeach()
  elseif(type_a STREQUAL "ARRAY")
    string(JSON count LENGTH "${a}" ${path})
    string(JSON count_b LENGTH "${b}" ${path})
    if(NOT count EQUAL count_b)
      message(FATAL_ERROR "${label}: '${path}' has ${count} and ${count_b} entries")
    endif()
    if(count GREATER 0)
      math(EXPR last "${count} - 1")
      foreach(i RANGE ${last})
        expect_same_json("${a}" "${b}" ${path} ${i})
      endforeach()
    endif()
  elseif(type_a STREQUAL "NUMBER")
    string(JSON value_a GET "${a}" ${path})
    string(JSON value_b GET "${b}" ${path})
    to_pico("${value_a}" pico_a)
    to_pico("${value_b}" pico_b)
    # |a - b| <= 1e-8 + 1e-8 |a|, in units of 1e-12.
    math(EXPR difference "${pico_a} - ${pico_b}")
    string(REGEX REPLACE "^-" "" difference "${difference}")
    string(REGEX REPLACE "^-" "" magnitude "${pico_a}")
    math(EXPR tolerance "10000 + ${magnitude} / 100000000")
    if(difference GREATER tolerance)
      message(FATAL_ERROR "${label}: '${path}' is ${value_a} on eigen, ${value_b} on torch")
    endif()
    math(EXPR compared "${compared} + 1")
  else()
    string(JSON value_a GET "${a}" ${path})
    string(JSON value_b GET "${b}" ${path})
    if(NOT value_a STREQUAL value_b)
      message(FATAL_ERROR "${label}: '${path}' is '${value_a}' on eigen, '${value_b}' on torch")
    endif()
  endif()
  # Numbers compared below this call, handed up the recursion.
  set(compared ${compared} PARENT_SCOPE)
endfunction()

# Runs `implicit <command> <args...> --backend eigen|torch` and compares the
# two outputs; both must exit with `expected_code`.
function(expect_backends_agree label expected_code)
  foreach(backend eigen torch)
    execute_process(COMMAND ${IMPLICIT} ${ARGN} --backend ${backend}
                    OUTPUT_VARIABLE out_${backend} ERROR_VARIABLE err RESULT_VARIABLE code)
    if(NOT code EQUAL expected_code)
      message(FATAL_ERROR
              "${label} --backend ${backend}: exit ${code}, expected ${expected_code}: ${err}")
    endif()
    string(JSON name GET "${out_${backend}}" backend)
    if(NOT name STREQUAL backend)
      message(FATAL_ERROR "${label} --backend ${backend}: the JSON says backend '${name}'")
    endif()
  endforeach()
  set(compared 0)
  expect_same_json("${out_eigen}" "${out_torch}")
  message(STATUS "${label}: eigen and torch backends agree on ${compared} numbers")
endfunction()

execute_process(COMMAND ${IMPLICIT} deq --input ${input} --backend bogus
                RESULT_VARIABLE bad ERROR_VARIABLE err)
if(NOT bad EQUAL 2 OR NOT err MATCHES "--backend must be eigen or torch")
  message(FATAL_ERROR "--backend bogus: exit ${bad}, stderr: ${err}")
endif()

# A build without LibTorch says so; then only the dense path is checked.
execute_process(COMMAND ${IMPLICIT} deq --input ${input} --backend torch
                RESULT_VARIABLE probe ERROR_VARIABLE err OUTPUT_QUIET)
if(probe EQUAL 2 AND err MATCHES "no LibTorch layer")
  message(STATUS "built without LibTorch: --backend torch not checked")
  return()
endif()

set(skip backend adjoint_solver message messages)
file(WRITE ${WORK}/deq_input_4.json
     "{\"W\": [[0.2, -0.1, 0.3, 0.05], [0.1, 0.4, -0.2, 0.1], [-0.3, 0.2, 0.1, 0.2],"
     " [0.05, -0.25, 0.15, -0.1]], \"x\": [0.5, -1.0, 0.25, 2.0]}")
# forward_iteration under its name and its released alias fixed_point.
foreach(solver forward_iteration fixed_point anderson newton broyden)
  expect_backends_agree("deq --solver ${solver}" 0
                        deq --input ${WORK}/deq_input_4.json --solver ${solver} --unrolled)
endforeach()

# Monotone inverse: y = -1 has no root (invalid_bracket, exit 1) and y = 0
# sits at x = 0 exactly; both backends must null the same rows. The tensor
# layer does not keep TOMS 748's step count, so `iterations` is not compared
# (`function_evaluations` is).
list(APPEND skip iterations)
file(WRITE ${WORK}/monotone_input.json
     "{\"w\": [0.3, -0.5, 0.2], \"v\": [0.1, 0.4, -0.3], \"b\": [0.5, -1.0, 0.25],"
     " \"y\": [0.5, 2.0, -1.0, 0.0, 7.5]}")
expect_backends_agree("monotone-inverse" 1 monotone-inverse --input ${WORK}/monotone_input.json)
