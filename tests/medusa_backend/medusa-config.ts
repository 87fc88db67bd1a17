import { defineConfig } from "@medusajs/framework/utils"

// Everything comes from the environment the test sets; the admin dashboard is not built.
module.exports = defineConfig({
  projectConfig: {
    databaseUrl: process.env.DATABASE_URL,
    http: {
      storeCors: process.env.STORE_CORS || "http://127.0.0.1",
      adminCors: process.env.ADMIN_CORS || "http://127.0.0.1",
      authCors: process.env.AUTH_CORS || "http://127.0.0.1",
      jwtSecret: process.env.JWT_SECRET || "supersecret",
      cookieSecret: process.env.COOKIE_SECRET || "supersecret",
    },
  },
  admin: { disable: true },
})
