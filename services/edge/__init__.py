"""The edge: gRPC-web and the browser's HTTP routes in front of the native gRPC services."""
