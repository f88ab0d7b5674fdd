import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// Django (whitenoise) serves the build at /static/, and the same origin answers /api/.
export default defineConfig({
  base: "/static/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  server: { proxy: { "/api": "http://127.0.0.1:8000" } },
  test: { environment: "jsdom", include: ["src/**/*.test.{ts,tsx}"] },
});
