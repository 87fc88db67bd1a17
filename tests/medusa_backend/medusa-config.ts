import { defineConfig } from "@medusajs/framework/utils"

// Everything comes from the environment the test sets. The qikink-graphql-medusa plugin is
// copied into node_modules by the test (scripts/medusa_plugin.py), as a merchant installs a
// built package. The dashboard is served (through Vite, NODE_ENV=development) only when the
// test asks for it: the browser tests do, the others do without its memory and start-up.
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
  admin: { disable: process.env.MEDUSA_ADMIN_DASHBOARD !== "on" },
  plugins: [
    {
      resolve: "qikink-graphql-medusa",
      options: {
        url: process.env.QIKINK_GRAPHQL_URL,
        apiKey: process.env.QIKINK_GRAPHQL_API_KEY,
      },
    },
  ],
})
