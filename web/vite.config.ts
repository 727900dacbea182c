import { defineConfig } from "vite";

// The edge serves dist/ at "/" and answers gRPC-web on the same origin; `vite dev` on another
// origin needs the edge's CORS allow-list (BETMESH_EDGE_CORS_ORIGINS) and VITE_EDGE_URL.
export default defineConfig({
  build: { target: "es2022", sourcemap: true },
});
