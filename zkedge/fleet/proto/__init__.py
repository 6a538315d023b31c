"""Generated gRPC/protobuf code (betterproto). DO NOT EDIT: run `make proto`."""
