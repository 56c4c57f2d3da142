#!/bin/sh
# Compiler flags for building llama.cpp on this machine: on x86, AMX is switched off (its code in the llama.cpp that
# llama-cpp-python 0.3.36 vendors traps with SIGILL where AMX is advertised: llama.cpp PR #26954). Printed only when
# the C compiler accepts them, so an old compiler or another architecture gets no flag at all.
case "$(uname -m)" in
  x86_64 | amd64 | i686) ;;
  *) exit 0 ;;
esac
flags="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
if echo 'int main(void) { return 0; }' | "${CC:-cc}" $flags -x c - -o /dev/null 2>/dev/null; then
  echo "$flags"
fi
