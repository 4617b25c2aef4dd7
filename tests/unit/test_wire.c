// SPDX-License-Identifier: GPL-2.0
/*
 * Wire format: the size and every field offset of each structure in
 * include/uapi/linux/virtio_msg.h, checked against the tables of
 * virtio-msg.md sections 2-4 (offsets into the payload, after the 8-byte
 * header). A layout change in the header fails here before it breaks
 * interoperability. No behaviour is tested here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <linux/virtio_msg.h>

#define FIELD(type, field, off, size)					\
	do {								\
		assert_int_equal(offsetof(struct type, field), (off));	\
		assert_int_equal(sizeof(((struct type *)0)->field), (size)); \
	} while (0)

static void test_header(void **state)
{
	assert_int_equal(sizeof(struct virtio_msg_hdr), 8);
	assert_int_equal(VIRTIO_MSG_HDR_SIZE, 8);
	FIELD(virtio_msg_hdr, type, 0, 1);
	FIELD(virtio_msg_hdr, msg_id, 1, 1);
	FIELD(virtio_msg_hdr, dev_num, 2, 2);
	FIELD(virtio_msg_hdr, token, 4, 2);
	FIELD(virtio_msg_hdr, msg_size, 6, 2);
}

static void test_constants(void **state)
{
	assert_int_equal(VIRTIO_MSG_REVISION, 1);
	assert_int_equal(VIRTIO_MSG_TYPE_RESPONSE, 0x01);
	assert_int_equal(VIRTIO_MSG_TYPE_BUS, 0x02);
	assert_int_equal(VIRTIO_MSG_MIN_SIZE, 44);
	assert_int_equal(VIRTIO_MSG_MAX_SIZE, 264);
	assert_int_equal(VIRTIO_MSG_DEFAULT_SIZE, 64);
	assert_int_equal(VIRTIO_MSG_PAYLOAD_MAX(64), 56);
	assert_int_equal(VIRTIO_MSG_GET_DEVICE_INFO, 0x02);
	assert_int_equal(VIRTIO_MSG_GET_DEVICE_FEATURES, 0x03);
	assert_int_equal(VIRTIO_MSG_SET_DRIVER_FEATURES, 0x04);
	assert_int_equal(VIRTIO_MSG_GET_CONFIG, 0x05);
	assert_int_equal(VIRTIO_MSG_SET_CONFIG, 0x06);
	assert_int_equal(VIRTIO_MSG_GET_DEVICE_STATUS, 0x07);
	assert_int_equal(VIRTIO_MSG_SET_DEVICE_STATUS, 0x08);
	assert_int_equal(VIRTIO_MSG_GET_VQUEUE, 0x09);
	assert_int_equal(VIRTIO_MSG_SET_VQUEUE, 0x0a);
	assert_int_equal(VIRTIO_MSG_RESET_VQUEUE, 0x0b);
	assert_int_equal(VIRTIO_MSG_GET_SHM, 0x0c);
	assert_int_equal(VIRTIO_MSG_EVENT_CONFIG, 0x40);
	assert_int_equal(VIRTIO_MSG_EVENT_AVAIL, 0x41);
	assert_int_equal(VIRTIO_MSG_EVENT_USED, 0x42);
	assert_int_equal(VIRTIO_MSG_BUS_GET_DEVICES, 0x02);
	assert_int_equal(VIRTIO_MSG_BUS_PING, 0x03);
	assert_int_equal(VIRTIO_MSG_BUS_EVENT_DEVICE, 0x40);
	assert_int_equal(VIRTIO_MSG_DEVICE_READY, 1);
	assert_int_equal(VIRTIO_MSG_DEVICE_REMOVED, 2);
}

static void test_device_info(void **state)
{
	assert_int_equal(sizeof(struct virtio_msg_get_device_info_resp), 24);
	FIELD(virtio_msg_get_device_info_resp, device_id, 0, 4);
	FIELD(virtio_msg_get_device_info_resp, vendor_id, 4, 4);
	FIELD(virtio_msg_get_device_info_resp, num_feature_bits, 8, 4);
	FIELD(virtio_msg_get_device_info_resp, config_size, 12, 4);
	FIELD(virtio_msg_get_device_info_resp, max_virtqueues, 16, 4);
	FIELD(virtio_msg_get_device_info_resp, admin_vq_start, 20, 2);
	FIELD(virtio_msg_get_device_info_resp, admin_vq_count, 22, 2);
}

static void test_features(void **state)
{
	assert_int_equal(sizeof(struct virtio_msg_get_device_features_req), 8);
	FIELD(virtio_msg_get_device_features_req, block_index, 0, 4);
	FIELD(virtio_msg_get_device_features_req, num_blocks, 4, 4);
	assert_int_equal(sizeof(struct virtio_msg_get_device_features_resp), 8);
	FIELD(virtio_msg_get_device_features_resp, block_index, 0, 4);
	FIELD(virtio_msg_get_device_features_resp, num_blocks, 4, 4);
	assert_int_equal(offsetof(struct virtio_msg_get_device_features_resp,
				  features), 8);
	assert_int_equal(sizeof(struct virtio_msg_set_driver_features_req), 8);
	FIELD(virtio_msg_set_driver_features_req, block_index, 0, 4);
	FIELD(virtio_msg_set_driver_features_req, num_blocks, 4, 4);
	assert_int_equal(offsetof(struct virtio_msg_set_driver_features_req,
				  features), 8);
}

static void test_config(void **state)
{
	assert_int_equal(sizeof(struct virtio_msg_get_config_req), 8);
	FIELD(virtio_msg_get_config_req, offset, 0, 4);
	FIELD(virtio_msg_get_config_req, length, 4, 4);
	assert_int_equal(sizeof(struct virtio_msg_get_config_resp), 12);
	FIELD(virtio_msg_get_config_resp, generation, 0, 4);
	FIELD(virtio_msg_get_config_resp, offset, 4, 4);
	FIELD(virtio_msg_get_config_resp, length, 8, 4);
	assert_int_equal(offsetof(struct virtio_msg_get_config_resp, data), 12);
	assert_int_equal(sizeof(struct virtio_msg_set_config_req), 12);
	FIELD(virtio_msg_set_config_req, generation, 0, 4);
	FIELD(virtio_msg_set_config_req, offset, 4, 4);
	FIELD(virtio_msg_set_config_req, length, 8, 4);
	assert_int_equal(offsetof(struct virtio_msg_set_config_req, data), 12);
	assert_int_equal(sizeof(struct virtio_msg_set_config_resp), 12);
	FIELD(virtio_msg_set_config_resp, generation, 0, 4);
	FIELD(virtio_msg_set_config_resp, offset, 4, 4);
	FIELD(virtio_msg_set_config_resp, length, 8, 4);
	assert_int_equal(offsetof(struct virtio_msg_set_config_resp, data), 12);
}

static void test_status(void **state)
{
	assert_int_equal(sizeof(struct virtio_msg_get_device_status_resp), 4);
	FIELD(virtio_msg_get_device_status_resp, status, 0, 4);
	assert_int_equal(sizeof(struct virtio_msg_set_device_status_req), 4);
	FIELD(virtio_msg_set_device_status_req, status, 0, 4);
	assert_int_equal(sizeof(struct virtio_msg_set_device_status_resp), 4);
	FIELD(virtio_msg_set_device_status_resp, status, 0, 4);
}

static void test_vqueue(void **state)
{
	assert_int_equal(sizeof(struct virtio_msg_get_vqueue_req), 4);
	FIELD(virtio_msg_get_vqueue_req, index, 0, 4);
	assert_int_equal(sizeof(struct virtio_msg_get_vqueue_resp), 40);
	FIELD(virtio_msg_get_vqueue_resp, index, 0, 4);
	FIELD(virtio_msg_get_vqueue_resp, max_size, 4, 4);
	FIELD(virtio_msg_get_vqueue_resp, cur_size, 8, 4);
	FIELD(virtio_msg_get_vqueue_resp, reserved, 12, 4);
	FIELD(virtio_msg_get_vqueue_resp, desc_addr, 16, 8);
	FIELD(virtio_msg_get_vqueue_resp, driver_addr, 24, 8);
	FIELD(virtio_msg_get_vqueue_resp, device_addr, 32, 8);
	assert_int_equal(sizeof(struct virtio_msg_set_vqueue_req), 40);
	FIELD(virtio_msg_set_vqueue_req, index, 0, 4);
	FIELD(virtio_msg_set_vqueue_req, reserved0, 4, 4);
	FIELD(virtio_msg_set_vqueue_req, size, 8, 4);
	FIELD(virtio_msg_set_vqueue_req, reserved1, 12, 4);
	FIELD(virtio_msg_set_vqueue_req, desc_addr, 16, 8);
	FIELD(virtio_msg_set_vqueue_req, driver_addr, 24, 8);
	FIELD(virtio_msg_set_vqueue_req, device_addr, 32, 8);
	assert_int_equal(sizeof(struct virtio_msg_reset_vqueue_req), 4);
	FIELD(virtio_msg_reset_vqueue_req, index, 0, 4);
}

static void test_shm(void **state)
{
	assert_int_equal(sizeof(struct virtio_msg_get_shm_req), 4);
	FIELD(virtio_msg_get_shm_req, index, 0, 4);
	assert_int_equal(sizeof(struct virtio_msg_get_shm_resp), 12);
	FIELD(virtio_msg_get_shm_resp, index, 0, 4);
	FIELD(virtio_msg_get_shm_resp, length, 4, 4);
	FIELD(virtio_msg_get_shm_resp, address, 8, 4);
}

static void test_events(void **state)
{
	assert_int_equal(sizeof(struct virtio_msg_event_config), 16);
	FIELD(virtio_msg_event_config, device_status, 0, 4);
	FIELD(virtio_msg_event_config, generation, 4, 4);
	FIELD(virtio_msg_event_config, offset, 8, 4);
	FIELD(virtio_msg_event_config, length, 12, 4);
	assert_int_equal(offsetof(struct virtio_msg_event_config, data), 16);
	assert_int_equal(sizeof(struct virtio_msg_event_avail), 8);
	FIELD(virtio_msg_event_avail, vq_index, 0, 4);
	FIELD(virtio_msg_event_avail, next_offset_wrap, 4, 4);
	assert_int_equal(VIRTIO_MSG_AVAIL_OFFSET_MASK, 0x7fffffffU);
	assert_int_equal(VIRTIO_MSG_AVAIL_WRAP, 0x80000000U);
	assert_int_equal(sizeof(struct virtio_msg_event_used), 4);
	FIELD(virtio_msg_event_used, vq_index, 0, 4);
}

static void test_bus_messages(void **state)
{
	assert_int_equal(sizeof(struct virtio_msg_bus_get_devices_req), 4);
	FIELD(virtio_msg_bus_get_devices_req, offset, 0, 2);
	FIELD(virtio_msg_bus_get_devices_req, count, 2, 2);
	assert_int_equal(sizeof(struct virtio_msg_bus_get_devices_resp), 6);
	FIELD(virtio_msg_bus_get_devices_resp, offset, 0, 2);
	FIELD(virtio_msg_bus_get_devices_resp, count, 2, 2);
	FIELD(virtio_msg_bus_get_devices_resp, next_offset, 4, 2);
	assert_int_equal(offsetof(struct virtio_msg_bus_get_devices_resp,
				  bitmap), 6);
	assert_int_equal(sizeof(struct virtio_msg_bus_ping), 4);
	FIELD(virtio_msg_bus_ping, data, 0, 4);
	assert_int_equal(sizeof(struct virtio_msg_bus_event_device), 4);
	FIELD(virtio_msg_bus_event_device, dev_num, 0, 2);
	FIELD(virtio_msg_bus_event_device, state, 2, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_constants),
		cmocka_unit_test(test_device_info),
		cmocka_unit_test(test_features),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_vqueue),
		cmocka_unit_test(test_shm),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_bus_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
