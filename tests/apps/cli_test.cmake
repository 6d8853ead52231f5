# End-to-end check of `implicit deq --input`: JSON in, JSON out, and a clear
# error (exit code 2) for a malformed file; the command line (--help of
# every subcommand, exit codes of bad options); the JSON schema (the same
# keys on success and failure and on both backends, "ok" matching the exit
# code, --compact / --pretty, `digits --json` and `flow-1d --json` writing
# JSON alone to stdout); then `deq` and `monotone-inverse` with --backend
# eigen and --backend torch must give the same JSON.
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
  string(JSON cmp ERROR_VARIABLE no_cmp TYPE "${nc}" unrolled max_abs_difference_to_implicit)
  if(no_note OR NOT note MATCHES "not comparable" OR NOT cmp STREQUAL "NULL" OR nc_code EQUAL 2)
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
if(NOT bad EQUAL 2 OR NOT err MATCHES "--backend: must be eigen or torch")
  message(FATAL_ERROR "--backend bogus: exit ${bad}, stderr: ${err}")
endif()

# ---------------------------------------------------------------------------
# The command line: `implicit --help` lists the subcommands, and every
# subcommand's --help exits 0 listing its options with their defaults; a
# bad command line exits 2 with the reason on stderr.
execute_process(COMMAND ${IMPLICIT} --help OUTPUT_VARIABLE help RESULT_VARIABLE code)
set(commands deq monotone-inverse)
if(help MATCHES "\n  digits ")
  list(APPEND commands digits flow-1d)
endif()
foreach(command ${commands})
  if(NOT code EQUAL 0 OR NOT help MATCHES "\n  ${command} ")
    message(FATAL_ERROR "implicit --help: exit ${code}, no '${command}' in: ${help}")
  endif()
endforeach()
set(expected_deq "--max-iter N=10000" "--solver forward_iteration.anderson.newton.broyden=anderson"
                 "--tol T=1e-10" "--backend eigen.torch=eigen" "--plot FILE" "--compact" "--pretty")
set(expected_monotone-inverse "--method toms748.bisection.newton=toms748" "--max-iter N=200")
set(expected_digits "--epochs N=12" "--seed S=0" "--json")
set(expected_flow-1d "--steps N=500" "--plot FILE=flow-1d.png" "--json")
foreach(command ${commands})
  execute_process(COMMAND ${IMPLICIT} ${command} --help OUTPUT_VARIABLE help ERROR_VARIABLE err
                  RESULT_VARIABLE code)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "implicit ${command} --help: exit ${code}: ${err}")
  endif()
  foreach(option ${expected_${command}})
    if(NOT help MATCHES "${option}")
      message(FATAL_ERROR "implicit ${command} --help does not show '${option}':\n${help}")
    endif()
  endforeach()
endforeach()
foreach(case "deq;--bogus;not expected" "deq;--tol;abc;--tol" "deq;--max-iter;0x10;integer"
        "deq;--solver;newton;requires --input" "monotone-inverse;--method;bisection;requires --input"
        "deq;--plot;out.jpg;.png or .svg" "bogus;unknown command" ";SUBCOMMAND")
  list(POP_BACK case expected)
  execute_process(COMMAND ${IMPLICIT} ${case} OUTPUT_QUIET ERROR_VARIABLE err RESULT_VARIABLE code)
  if(NOT code EQUAL 2 OR NOT err MATCHES "${expected}")
    message(FATAL_ERROR "implicit ${case}: exit ${code}, expected 2 and '${expected}': ${err}")
  endif()
endforeach()

# ---------------------------------------------------------------------------
# The JSON schema (README.md, "The command-line program"): every key on
# success and on failure, "ok" and "messages" always, the same keys and
# value types on both backends.

# The object keys of the document, depth first, as dotted paths
# ("gradient.adjoint_status"); arrays are leaves. With with_types, each as
# path=TYPE. Appends to `keys` in the caller's scope.
function(json_keys_at doc with_types prefix)
  string(JSON count LENGTH "${doc}" ${ARGN})
  if(count GREATER 0)
    math(EXPR last "${count} - 1")
    foreach(i RANGE ${last})
      string(JSON key MEMBER "${doc}" ${ARGN} ${i})
      string(JSON type TYPE "${doc}" ${ARGN} ${key})
      if(with_types)
        list(APPEND keys "${prefix}${key}=${type}")
      else()
        list(APPEND keys "${prefix}${key}")
      endif()
      if(type STREQUAL "OBJECT")
        json_keys_at("${doc}" ${with_types} "${prefix}${key}." ${ARGN} ${key})
      endif()
    endforeach()
  endif()
  set(keys ${keys} PARENT_SCOPE)
endfunction()
function(json_keys doc with_types out)
  set(keys "")
  json_keys_at("${doc}" ${with_types} "")
  set(${out} "${keys}" PARENT_SCOPE)
endfunction()

# Runs `implicit <args...>`, expects exit code `expected_code`, a JSON
# object on stdout with "ok" (true exactly when the code is 0) and
# "messages" (an array; not empty when ok is false); returns stdout in `out`.
function(run_json label expected_code out)
  execute_process(COMMAND ${IMPLICIT} ${ARGN} OUTPUT_VARIABLE doc ERROR_VARIABLE err
                  RESULT_VARIABLE code)
  if(NOT code EQUAL expected_code)
    message(FATAL_ERROR "${label}: exit ${code}, expected ${expected_code}: ${err}\n${doc}")
  endif()
  string(JSON ok_type ERROR_VARIABLE bad TYPE "${doc}" ok)
  if(bad OR NOT ok_type STREQUAL "BOOLEAN")
    message(FATAL_ERROR "${label}: no boolean \"ok\" (${bad}) in stdout: ${doc}")
  endif()
  string(JSON ok GET "${doc}" ok)  # ON or OFF
  set(want_ok OFF)
  if(expected_code EQUAL 0)
    set(want_ok ON)
  endif()
  string(JSON messages_type ERROR_VARIABLE bad TYPE "${doc}" messages)
  string(JSON messages_count ERROR_VARIABLE bad LENGTH "${doc}" messages)
  if(NOT messages_type STREQUAL "ARRAY" OR NOT ok STREQUAL want_ok
     OR (NOT ok AND messages_count EQUAL 0))
    message(FATAL_ERROR "${label}: exit ${code} with ok = ${ok}, messages ${messages_type} of "
                        "${messages_count}: ${doc}")
  endif()
  set(${out} "${doc}" PARENT_SCOPE)
  set(${out}_stderr "${err}" PARENT_SCOPE)
endfunction()

function(expect_same_keys label a b)
  if(NOT "${a}" STREQUAL "${b}")
    message(FATAL_ERROR "${label}: the keys differ:\n  ${a}\n  ${b}")
  endif()
endfunction()

execute_process(COMMAND ${IMPLICIT} deq --input ${input} --backend torch
                RESULT_VARIABLE probe ERROR_VARIABLE err OUTPUT_QUIET)
set(backends eigen)
if(NOT err MATCHES "no LibTorch layer")
  list(APPEND backends torch)
endif()
file(WRITE ${WORK}/monotone_good.json
     "{\"w\": [0.3, -0.5, 0.2], \"v\": [0.1, 0.4, -0.3], \"b\": [0.5, -1.0, 0.25],"
     " \"y\": [0.5, 2.0, 7.5]}")
# Failing inputs: W = 3 I is no contraction and 2 Anderson steps cannot
# solve it (max_iterations); y = -1 has no root (invalid_bracket).
file(WRITE ${WORK}/monotone_bad.json
     "{\"w\": [0.3, -0.5, 0.2], \"v\": [0.1, 0.4, -0.3], \"b\": [0.5, -1.0, 0.25],"
     " \"y\": [0.5, -1.0]}")
foreach(backend ${backends})
  foreach(unrolled "" "--unrolled")
    run_json("deq ${unrolled} --backend ${backend}" 0 good
             deq --input ${input} --solver anderson ${unrolled} --backend ${backend})
    run_json("deq ${unrolled} --backend ${backend}, failing" 1 bad
             deq --input ${WORK}/expanding.json --solver anderson --max-iter 2 ${unrolled}
             --backend ${backend})
    json_keys("${good}" 0 keys_good)
    json_keys("${bad}" 0 keys_bad)
    expect_same_keys("deq ${unrolled} --backend ${backend}: success vs failure"
                     "${keys_good}" "${keys_bad}")
    json_keys("${good}" 1 types_deq${unrolled}_good_${backend})
    json_keys("${bad}" 1 types_deq${unrolled}_bad_${backend})
  endforeach()
  run_json("monotone-inverse --backend ${backend}" 0 good
           monotone-inverse --input ${WORK}/monotone_good.json --backend ${backend})
  run_json("monotone-inverse --backend ${backend}, failing" 1 bad
           monotone-inverse --input ${WORK}/monotone_bad.json --backend ${backend})
  json_keys("${good}" 0 keys_good)
  json_keys("${bad}" 0 keys_bad)
  expect_same_keys("monotone-inverse --backend ${backend}: success vs failure"
                   "${keys_good}" "${keys_bad}")
  json_keys("${good}" 1 types_monotone_good_${backend})
  json_keys("${bad}" 1 types_monotone_bad_${backend})
endforeach()
# --method newton (Eigen backend): exit code, `ok`, and the method named.
run_json("monotone-inverse --method newton" 0 newton_good
         monotone-inverse --input ${WORK}/monotone_good.json --method newton)
run_json("monotone-inverse --method newton, failing" 1 newton_bad
         monotone-inverse --input ${WORK}/monotone_bad.json --method newton)
string(JSON newton_method GET "${newton_good}" method)
if(NOT newton_method STREQUAL "newton")
  message(FATAL_ERROR "monotone-inverse --method newton reports method '${newton_method}'")
endif()
# A number on one backend is a number on the other, a null a null.
if("torch" IN_LIST backends)
  foreach(run deq_good deq_bad deq--unrolled_good deq--unrolled_bad monotone_good monotone_bad)
    expect_same_keys("${run}: eigen vs torch (key=TYPE)" "${types_${run}_eigen}"
                     "${types_${run}_torch}")
  endforeach()
endif()
message(STATUS "schema: the same keys on success and failure, on ${backends}: ${keys_good}")

# Not a terminal (a pipe, as here): one line by default and with
# --compact; --pretty indents.
foreach(style "" "--compact" "--pretty")
  execute_process(COMMAND ${IMPLICIT} deq --input ${input} ${style} OUTPUT_VARIABLE doc
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  string(FIND "${doc}" "\n" newline)
  if(style STREQUAL "--pretty")
    set(wrong_layout ${newline} EQUAL -1)
  else()
    set(wrong_layout NOT ${newline} EQUAL -1)
  endif()
  if(${wrong_layout})
    message(FATAL_ERROR "deq ${style}: wrong layout:\n${doc}")
  endif()
endforeach()

# The training demos: with --json, stdout is the JSON document alone (the
# progress goes to stderr). Skipped without the data (scripts/fetch-data.sh).
set(data_dir "${DATA_DIR}")
if(NOT "$ENV{IMPLICIT_DATA_DIR}" STREQUAL "")
  set(data_dir "$ENV{IMPLICIT_DATA_DIR}")
endif()
if("digits" IN_LIST commands)
  if(NOT EXISTS "${data_dir}/digits.csv.gz")
    message(STATUS "digits --json not checked: no ${data_dir}/digits.csv.gz "
                   "(run scripts/fetch-data.sh)")
  else()
    run_json("digits --json" 0 train digits --epochs 1 --save ${WORK}/digits.pt --json)
    run_json("digits --eval --json" 0 eval digits --eval ${WORK}/digits.pt --json)
    json_keys("${train}" 0 keys_train)
    json_keys("${eval}" 0 keys_eval)
    expect_same_keys("digits: training vs --eval" "${keys_train}" "${keys_eval}")
    if(NOT train_stderr MATCHES "epoch +loss")
      message(FATAL_ERROR "digits --json: the progress table is not on stderr: ${train_stderr}")
    endif()
  endif()
  if(NOT EXISTS "${data_dir}/diabetes_target.csv.gz")
    message(STATUS "flow-1d --json not checked: no ${data_dir}/diabetes_target.csv.gz")
  else()
    run_json("flow-1d --json" 0 flow flow-1d --steps 3 --plot ${WORK}/flow.svg --json)
  endif()
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
expect_backends_agree("monotone-inverse --method newton" 1
                      monotone-inverse --input ${WORK}/monotone_input.json --method newton)
# b = 1e308: relu(b + d) - relu(b) rounds to 0 in double although it is d,
# so a tensor copy of R that subtracts gave dx/dv = 0 (the dense closed
# form: -x*). Both backends evaluate the one formula of
# models/monotone_formula-inl.hpp now.
file(WRITE ${WORK}/monotone_huge_bias.json
     "{\"w\": [0.3, -0.5, 0.2], \"v\": [0.1, 0.4, -0.3], \"b\": [1e308, 1e308, 1e308],"
     " \"y\": [0.5, 2.0]}")
expect_backends_agree("monotone-inverse, b = 1e308" 0
                      monotone-inverse --input ${WORK}/monotone_huge_bias.json)
