// SPDX-License-Identifier: BSD-3-Clause
// The rigpose binary: builds the command table and runs it (see cli/cli.h).
#include "cli/cli.h"

int main(int argc, char** argv) { return rigpose::cli::Main(argc, argv); }
