// The service's GraphQL operations the plugin sends (schema/schema.graphql of qikink-graphql).

export const PRODUCT_MAPPING_FIELDS = "id qikinkSkuId variantId createdAt updatedAt"

export const ORDER_MAPPING_FIELDS = `id medusaOrderId medusaDisplayId qikinkOrderId
  qikinkOrderNumber status qikinkStatus trackingNumber courier trackingUrl createdAt updatedAt
  lastSyncedAt cancelRequested lastError attempts medusaSyncedState medusaSyncError
  printedItems { variantId quantity }`

export const SUBMIT_MEDUSA_ORDER = `mutation($id: ID!) {
  submitMedusaOrder(orderId: $id) { skipped reason mapping { id status qikinkOrderNumber } } }`

export const CANCEL_MEDUSA_ORDER = `mutation($id: ID!) {
  cancelMedusaOrder(orderId: $id) { outcome mapping { id status qikinkOrderNumber } } }`

export const PRODUCT_MAPPINGS = `query($ids: [ID!]) {
  productMappings(filter: { variantIds: $ids }, limit: 200, order: VARIANT_ID, orderDirection: ASC) {
    count nodes { ${PRODUCT_MAPPING_FIELDS} } } }`

export const CREATE_PRODUCT_MAPPING = `mutation($input: ProductMappingInput!) {
  createProductMapping(input: $input) { ${PRODUCT_MAPPING_FIELDS} } }`

export const UPDATE_PRODUCT_MAPPING = `mutation($id: ID!, $input: ProductMappingUpdateInput!) {
  updateProductMapping(id: $id, input: $input) { ${PRODUCT_MAPPING_FIELDS} } }`

export const DELETE_PRODUCT_MAPPING = `mutation($id: ID!) {
  deleteProductMapping(id: $id) { id deleted } }`

export const ORDER_MAPPINGS = `query($filter: OrderMappingFilter, $limit: Int!, $offset: Int!) {
  qikinkOrderMappings(filter: $filter, limit: $limit, offset: $offset) {
    count limit offset nodes { ${ORDER_MAPPING_FIELDS} } } }`

export const RETRY_ORDER = `mutation($id: ID!) {
  retryOrderSubmission(id: $id) { ${ORDER_MAPPING_FIELDS} } }`

export const REFRESH_ORDERS = `mutation($orderId: ID) {
  refreshOrderMappings(orderId: $orderId) { updated processed
    changes { previousStatus mapping { ${ORDER_MAPPING_FIELDS} } } } }`
